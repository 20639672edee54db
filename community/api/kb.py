"""Knowledge-base articles over JSON: list, write, read, edit, feedback, promote a thread."""
from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select

from .. import permissions, urls
from ..extensions import db
from ..models import ARTICLE_STATES, Article
from ..ratelimit import limit
from ..services.errors import NotFound, PermissionDenied, ValidationError
from ..services.forum import threads
from ..services.kb import articles, feedback
from ..services.kb import listings as kb_listings
from .auth import api_user
from .body import field, int_arg, json_body
from .serializers import CATEGORY, category_json, iso, user_summary
from .spec import endpoint, schema

ARTICLE = schema("Article", {
    "type": "object", "properties": {
        "id": {"type": "integer"}, "type": {"type": "string", "enum": ["article"]},
        "title": {"type": "string"}, "url": {"type": "string"}, "category": CATEGORY,
        "tags": {"type": "array", "items": {"type": "string"}},
        "state": {"type": "string", "enum": list(ARTICLE_STATES)}, "author": {"type": "object"},
        "source_thread_id": {"type": "integer", "nullable": True},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "body": {"type": "string", "description": "detail only"},
        "body_html": {"type": "string", "description": "detail only"},
        "helpful_yes": {"type": "integer", "description": "staff only"},
        "helpful_no": {"type": "integer", "description": "staff only"},
    }})
ARTICLE_LIST = {"type": "object", "properties": {
    "articles": {"type": "array", "items": ARTICLE}, "total": {"type": "integer"},
    "limit": {"type": "integer"}, "offset": {"type": "integer"}}}


def article_json(article: Article, *, detail: bool = False, user=None) -> dict:
    data = {"id": article.id, "type": "article", "title": article.title,
            "url": urls.article_url(article, external=True), "category": category_json(article.category),
            "tags": [t.name for t in article.tags], "state": article.state, "author": user_summary(article.author),
            "source_thread_id": article.source_thread_id, "created_at": iso(article.created_at),
            "updated_at": iso(article.updated_at)}
    if detail:
        data.update(body=article.body, body_html=article.body_html)
    if permissions.can_see_unpublished_articles(user):
        data.update(helpful_yes=article.helpful_yes, helpful_no=article.helpful_no)
    return data


def _visible(article_id: int, user) -> Article:
    article = articles.get_article(article_id)
    if not permissions.can_view_article(user, article):
        raise NotFound("No such article.")
    return article


def _writer():
    user = api_user()
    if not permissions.can_write_articles(user):
        raise PermissionDenied("Only agents, product people and admins write articles.")
    return user


@endpoint("/articles", "GET", summary="List knowledge-base articles (members: published only)", auth="public",
          params=[{"name": "category", "in": "query", "schema": {"type": "integer"}},
                  {"name": "tag", "in": "query", "schema": {"type": "string"}},
                  {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(ARTICLE_STATES)}},
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 20, "maximum": 100}},
                  {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0}}],
          response=ARTICLE_LIST, errors=(400,))
def list_articles():
    user = api_user()
    state = request.args.get("state") or None
    if state is not None and state not in ARTICLE_STATES:
        raise ValidationError(f"state must be one of {', '.join(ARTICLE_STATES)}.", field="state")
    staff = permissions.can_see_unpublished_articles(user)
    if state and state != "published" and not staff:
        return jsonify({"articles": [], "total": 0, "limit": 20, "offset": 0})
    lim = int_arg("limit", 20, low=1, high=100)
    offset = int_arg("offset", 0, low=0, high=10_000_000)
    stmt = kb_listings.articles(category_id=int_arg("category", 0, low=0, high=2**31 - 1) or None,
                                tag=(request.args.get("tag") or "").strip().lower() or None,
                                state=state, include_unpublished=staff)
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    items = db.session.execute(stmt.limit(lim).offset(offset)).scalars().all()
    return jsonify({"articles": [article_json(a, user=user) for a in items], "total": total,
                    "limit": lim, "offset": offset})


@endpoint("/articles", "POST", summary="Write an article (agents, product, admins)", status=201,
          body={"type": "object", "required": ["category_id", "title", "body"], "properties": {
              "category_id": {"type": "integer"}, "title": {"type": "string"}, "body": {"type": "string"},
              "tags": {"type": "array", "items": {"type": "string"}},
              "state": {"type": "string", "enum": ["draft", "published"], "default": "draft"}}},
          response=ARTICLE, errors=(400, 401, 403))
@limit("POST_RATE_LIMIT")
def create_article():
    user = _writer()
    data = json_body()
    category = threads.get_category(field(data, "category_id", int))
    article = articles.create_article(user, category, field(data, "title"), field(data, "body"),
                                      field(data, "tags", (list, str), required=False),
                                      state=field(data, "state", required=False) or "draft")
    db.session.commit()
    return jsonify(article_json(article, detail=True, user=user)), 201


@endpoint("/articles/<int:article_id>", "GET", summary="One article", auth="public",
          response=ARTICLE, errors=(404,))
def get_article(article_id: int):
    user = api_user()
    return jsonify(article_json(_visible(article_id, user), detail=True, user=user))


@endpoint("/articles/<int:article_id>", "PATCH", summary="Edit an article or change its state",
          body={"type": "object", "properties": {
              "title": {"type": "string"}, "body": {"type": "string"}, "category_id": {"type": "integer"},
              "tags": {"type": "array", "items": {"type": "string"}}, "reason": {"type": "string"},
              "state": {"type": "string", "enum": list(ARTICLE_STATES)}}},
          response=ARTICLE, errors=(400, 401, 403, 404))
def update_article(article_id: int):
    user = _writer()
    data = json_body()
    article = articles.get_article(article_id)
    category_id = field(data, "category_id", int, required=False)
    articles.update_article(user, article, title=field(data, "title", required=False),
                            body=field(data, "body", required=False),
                            tags=field(data, "tags", (list, str), required=False),
                            category=threads.get_category(category_id) if category_id is not None else None,
                            reason=field(data, "reason", required=False))
    state = field(data, "state", required=False)
    if state is not None:
        articles.set_state(user, article, state)
    db.session.commit()
    return jsonify(article_json(article, detail=True, user=user))


@endpoint("/articles/<int:article_id>/feedback", "POST", summary="“Was this helpful?” (one answer per caller)",
          status=201, also={200: "This caller had answered already: not counted again"},
          body={"type": "object", "required": ["helpful"], "properties": {
              "helpful": {"type": "boolean"}, "reason": {"type": "string"}}},
          response={"type": "object", "properties": {"counted": {"type": "boolean"}}}, errors=(400, 401, 404, 429))
@limit("ARTICLE_FEEDBACK_RATE_LIMIT")
def article_feedback(article_id: int):
    user = api_user()
    article = _visible(article_id, user)
    if not article.published:
        raise NotFound("No such article.")
    data = json_body()
    counted = feedback.record(article, feedback.voter_key(user, None), field(data, "helpful", bool),
                              field(data, "reason", required=False), user=user)
    db.session.commit()
    return jsonify({"counted": counted}), 201 if counted else 200


@endpoint("/threads/<int:thread_id>/promote", "POST", summary="Turn a solved thread into an article (staff)",
          status=201,
          body={"type": "object", "properties": {
              "title": {"type": "string"}, "body": {"type": "string"},
              "state": {"type": "string", "enum": ["draft", "published"], "default": "draft"}}},
          response=ARTICLE, errors=(400, 401, 403, 404, 409))
def promote_thread(thread_id: int):
    user = _writer()
    thread = threads.get_thread(thread_id)
    if not permissions.can_view_thread(user, thread):
        raise NotFound("No such thread.")
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise ValidationError("Send a JSON object.")
    article = articles.promote(user, thread, title=field(data, "title", required=False),
                               body=field(data, "body", required=False),
                               state=field(data, "state", required=False) or "draft")
    db.session.commit()
    return jsonify(article_json(article, detail=True, user=user)), 201
