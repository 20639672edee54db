"""The idea exchange over JSON: list, create, read (with demand and links), vote, status, merge, CSV export."""
from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import func, select

from .. import permissions, urls
from ..extensions import db
from ..models import Idea
from ..models.ideas import IDEA_STATUSES
from ..ratelimit import limit
from ..services import inputs
from ..services.errors import NotFound, PermissionDenied, ValidationError
from ..services.forum import threads
from ..services.ideas import budget, exchange, lists, merging
from ..services.ideas.demand import demand_for, demand_map
from .auth import api_user
from .idea_links import LINK, visible_links_json
from .body import field, int_arg, json_body
from .serializers import CATEGORY, category_json, iso, user_summary
from .spec import endpoint, schema

RESPONSE = schema("IdeaResponse", {
    "type": "object", "description": "A status change or an official response (old_status == new_status).",
    "properties": {
        "old_status": {"type": "string", "nullable": True, "description": "null for the first status"},
        "new_status": {"type": "string"},
        "response": {"type": "string"}, "response_html": {"type": "string"},
        "by": {"type": "string", "nullable": True}, "merged_into": {"type": "integer", "nullable": True},
        "created_at": {"type": "string", "format": "date-time"}}})
DEMAND = schema("IdeaDemand", {
    "type": "object", "description": "docs/ideas.md (Demand): demand = customers + contacts_90d.",
    "properties": {
        "votes": {"type": "integer"},
        "customers": {"type": "integer", "description": "distinct voters, linked threads' authors and "
                      "linked tickets' requesters (members; each person once)"},
        "threads": {"type": "integer"}, "tickets": {"type": "integer"},
        "contacts_90d": {"type": "integer", "description": "tickets opened in the last 90 days, linked or "
                         "opened from a linked thread"},
        "demand": {"type": "integer"}}})
IDEA = schema("Idea", {
    "type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "url": {"type": "string"},
        "category": CATEGORY, "tags": {"type": "array", "items": {"type": "string"}},
        "author": {"type": "object"}, "status": {"type": "string", "enum": list(IDEA_STATUSES)},
        "votes": {"type": "integer"}, "comment_count": {"type": "integer"},
        "merged_into": {"type": "integer", "nullable": True},
        "latest_response": {"allOf": [RESPONSE], "nullable": True},
        "created_at": {"type": "string", "format": "date-time"},
        "last_activity_at": {"type": "string", "format": "date-time"},
        "trending": {"type": "number", "description": "sort=trending only: Σ 0.5^(age in days / 7) over votes"},
        "body": {"type": "string", "description": "detail only"},
        "body_html": {"type": "string", "description": "detail only"},
        "voted": {"type": "boolean", "description": "detail only: the caller voted"},
        "responses": {"type": "array", "items": RESPONSE, "description": "detail only: the history"},
        "comments": {"type": "array", "items": {"type": "object"}, "description": "detail only"},
        "demand": DEMAND,
        "links": {"type": "array", "items": LINK,
                  "description": "detail only: linked threads and tickets the caller may see"},
        "links_hidden": {"type": "integer", "description": "detail only: linked items the caller may not see"},
        "votes_left": {"type": "integer", "nullable": True,
                       "description": "detail only: the caller's votes left under IDEA_VOTE_BUDGET (null: no budget)"},
    }})
IDEA_LIST = {"type": "object", "properties": {
    "ideas": {"type": "array", "items": IDEA}, "total": {"type": "integer"},
    "limit": {"type": "integer"}, "offset": {"type": "integer"}}}


def idea_json(idea: Idea, *, detail: bool = False, user=None, demand: dict | None = None) -> dict:
    latest = None
    if idea.response_html:
        latest = {"old_status": None, "new_status": idea.status, "response": idea.response,
                  "response_html": idea.response_html,
                  "by": idea.response_by.username if idea.response_by else None,
                  "merged_into": idea.merged_into_id, "created_at": iso(idea.response_at)}
    data = {
        "id": idea.id, "title": idea.title, "url": urls.idea_url(idea, external=True),
        "category": category_json(idea.category), "tags": [t.name for t in idea.tags],
        "author": user_summary(idea.author), "status": idea.status, "votes": idea.vote_count,
        "comment_count": idea.comment_count, "merged_into": idea.merged_into_id,
        "latest_response": latest, "created_at": iso(idea.created_at),
        "last_activity_at": iso(idea.last_activity_at),
    }
    figures = demand if demand is not None else (demand_for(idea) if detail else None)
    if figures is not None:
        data["demand"] = figures
    if detail:
        data["links"], data["links_hidden"] = visible_links_json(user, idea)
        data["votes_left"] = budget.votes_left(user)
        data.update({
            "body": idea.body, "body_html": idea.body_html, "voted": exchange.has_voted(user, idea),
            "responses": [{
                "old_status": c.old_status, "new_status": c.new_status, "response": c.response,
                "response_html": c.response_html, "by": c.changed_by.username if c.changed_by else None,
                "merged_into": c.merged_into_id, "created_at": iso(c.created_at)} for c in exchange.history(idea)],
            "comments": [{"id": c.id, "author": user_summary(c.author), "body": c.body,
                          "body_html": c.body_html, "created_at": iso(c.created_at)}
                         for c in exchange.comments(idea)],
        })
    return data


def _filters() -> dict:
    sort = request.args.get("sort", "top")
    if sort not in lists.SORTS:
        raise ValidationError(f"sort must be one of {', '.join(lists.SORTS)}.", field="sort")
    status = request.args.get("status") or None
    if status is not None and status not in IDEA_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(IDEA_STATUSES)}.", field="status")
    category = request.args.get("category") or None
    category_id = None
    if category is not None:
        category_id = inputs.id_or_none(category)
        if category_id is None:
            raise ValidationError("category must be a category id.", field="category")
    return {"sort": sort, "status": status, "category_id": category_id,
            "tag": (request.args.get("tag") or "").strip().lower() or None,
            "min_demand": int_arg("min_demand", 0, low=0, high=10_000_000) or None}


QUERY = [
    {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(lists.SORTS), "default": "top"}},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(IDEA_STATUSES)}},
    {"name": "category", "in": "query", "schema": {"type": "integer"}},
    {"name": "tag", "in": "query", "schema": {"type": "string"}},
    {"name": "min_demand", "in": "query", "schema": {"type": "integer", "minimum": 0},
     "description": "only ideas whose demand (customers + contacts_90d) is at least this"},
]


@endpoint("/ideas", "GET", summary="List ideas (top, trending, demand, new or recently updated)", auth="public",
          params=QUERY + [{"name": "limit", "in": "query", "schema": {"type": "integer", "default": 20, "maximum": 100}},
                          {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0}}],
          response=IDEA_LIST, errors=(400,),
          description="Trending = Σ over votes of 0.5^(age in days / 7); demand = distinct customers + support "
                      "contacts in the last 90 days (docs/ideas.md). Duplicates are listed only with status=duplicate.")
def list_ideas():
    filters = _filters()
    lim = int_arg("limit", 20, low=1, high=100)
    offset = int_arg("offset", 0, low=0, high=10_000_000)
    stmt = lists.ideas(**filters)
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    items = db.session.execute(stmt.limit(lim).offset(offset)).scalars().all()
    figures = demand_map([i.id for i in items])
    data = [idea_json(i, demand=figures[i.id]) for i in items]
    if filters["sort"] == "trending":
        scores = lists.trending_map([i.id for i in items])
        for item in data:
            item["trending"] = round(scores.get(item["id"], 0.0), 4)
    return jsonify({"ideas": data, "total": total, "limit": lim, "offset": offset})


@endpoint("/ideas", "POST", summary="Propose an idea (your vote is counted)", status=201,
          body={"type": "object", "required": ["category_id", "title", "body"], "properties": {
              "category_id": {"type": "integer"}, "title": {"type": "string"}, "body": {"type": "string"},
              "tags": {"type": "array", "items": {"type": "string"}}}},
          response=IDEA, errors=(400, 401, 403))
@limit("POST_RATE_LIMIT")
def create_idea():
    data = json_body()
    user = api_user()
    if not permissions.can_post_idea(user):
        raise PermissionDenied("You may not post ideas.")
    category = threads.get_category(field(data, "category_id", int))
    idea = exchange.create_idea(user, category, field(data, "title"), field(data, "body"),
                             field(data, "tags", (list, str), required=False))
    db.session.commit()
    return jsonify(idea_json(idea, detail=True, user=user)), 201


@endpoint("/ideas/export.csv", "GET", summary="Export ideas as CSV, top-voted (or sort=demand) first",
          roles=("product", "admin"), produces="text/csv", errors=(400, 401, 403),
          params=QUERY,
          response={"type": "string", "description": ",".join(lists.CSV_COLUMNS)})
def export_csv():
    filters = _filters()
    body = lists.export_csv(status=filters["status"], category_id=filters["category_id"],
                            sort=filters["sort"], min_demand=filters["min_demand"])
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=ideas.csv"})


def _idea(idea_id: int) -> Idea:
    return exchange.get_idea(idea_id)


@endpoint("/ideas/<int:idea_id>", "GET", summary="An idea with its votes, status and responses (history)",
          auth="public", response=IDEA, errors=(404,))
def get_idea(idea_id: int):
    return jsonify(idea_json(_idea(idea_id), detail=True, user=api_user()))


@endpoint("/ideas/<int:idea_id>/vote", "POST", summary="Set your vote: 1 votes, 0 withdraws (idempotent)",
          body={"type": "object", "required": ["value"], "properties": {"value": {"type": "integer", "enum": [1, 0]}}},
          response={"type": "object", "properties": {"idea_id": {"type": "integer"}, "votes": {"type": "integer"},
                                                     "vote": {"type": "integer"}}},
          errors=(400, 401, 403, 404, 409),
          description="409 when the idea is closed (delivered, declined or merged).")
@limit("VOTE_RATE_LIMIT")
def vote(idea_id: int):
    data = json_body()
    value = field(data, "value", int)
    if value not in (0, 1):
        raise ValidationError("value must be 1 (vote) or 0 (withdraw).", field="value")
    idea = _idea(idea_id)
    user = api_user()
    if not permissions.can_post_idea(user):
        raise PermissionDenied("You may not vote.")
    votes = exchange.set_vote(user, idea, value)
    db.session.commit()
    return jsonify({"idea_id": idea.id, "votes": votes, "vote": value})


@endpoint("/ideas/<int:idea_id>/status", "POST", summary="Change the status with an official response",
          roles=("product", "admin"),
          body={"type": "object", "required": ["status", "response"], "properties": {
              "status": {"type": "string", "enum": [s for s in IDEA_STATUSES if s != "duplicate"]},
              "response": {"type": "string", "description": "Markdown; the same status posts a response only"}}},
          response=IDEA, errors=(400, 401, 403, 404, 409))
def change_status(idea_id: int):
    data = json_body()
    idea = _idea(idea_id)
    user = api_user()
    if not permissions.can_manage_ideas(user):
        raise PermissionDenied("Only the product team may change an idea's status.")
    exchange.change_status(user, idea, field(data, "status"), field(data, "response"))
    db.session.commit()
    return jsonify(idea_json(idea, detail=True, user=user))


@endpoint("/ideas/<int:idea_id>/merge", "POST", summary="Merge this duplicate into another idea",
          roles=("product", "moderator", "admin"),
          body={"type": "object", "required": ["into"], "properties": {
              "into": {"type": "integer"}, "note": {"type": "string"}}},
          response=IDEA, errors=(400, 401, 403, 404, 409),
          description="Moves votes (each voter counted once) and followers; returns the target.")
def merge(idea_id: int):
    data = json_body()
    source = _idea(idea_id)
    user = api_user()
    if not permissions.can_merge_ideas(user):
        raise PermissionDenied("Only the product team or moderators may merge ideas.")
    into = field(data, "into", int)
    try:
        target = exchange.get_idea(into)
    except NotFound:
        raise ValidationError(f"There is no idea #{into}.", field="into") from None
    target = merging.merge(user, source, target, field(data, "note", required=False))
    db.session.commit()
    return jsonify(idea_json(target, detail=True, user=user))
