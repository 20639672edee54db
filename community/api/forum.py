"""Categories, threads, posts, votes and accepts over JSON."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from .. import permissions
from ..extensions import db, locks_late
from ..models import Post
from ..ratelimit import limit
from ..services.errors import NotFound, PermissionDenied, ValidationError
from ..services.forum import accepting, listings, threads, votes
from .auth import api_user
from .body import field, json_body
from .serializers import CATEGORY, POST, THREAD, category_json, post_json, thread_json
from .spec import endpoint

CATEGORY_LIST = {"type": "object", "properties": {"categories": {"type": "array", "items": CATEGORY}}}


@endpoint("/categories", "GET", summary="List categories with thread and solved counts",
          auth="public", response=CATEGORY_LIST, errors=())
def list_categories():
    stats = listings.category_stats()
    return jsonify({"categories": [category_json(c, stats.get(c.id, {})) for c in listings.categories()]})


@endpoint("/categories", "POST", summary="Create a category", roles=("admin",), status=201,
          body={"type": "object", "required": ["name"], "properties": {
              "name": {"type": "string"}, "description": {"type": "string"}}},
          response=CATEGORY, errors=(400, 401, 403, 409))
def create_category():
    data = json_body()
    category = threads.create_category(field(data, "name"), field(data, "description", required=False) or "")
    db.session.commit()
    return jsonify(category_json(category)), 201


@endpoint("/threads", "POST", summary="Ask a question (create a thread)", status=201,
          body={"type": "object", "required": ["category_id", "title", "body"], "properties": {
              "category_id": {"type": "integer"}, "title": {"type": "string"},
              "body": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}},
          response=THREAD, errors=(400, 401, 403))
@limit("POST_RATE_LIMIT")
def create_thread():
    data = json_body()
    user = api_user()
    if not permissions.can_create_thread(user):
        raise PermissionDenied("You may not post.")
    category = threads.get_category(field(data, "category_id", int))
    thread = threads.create_thread(user, category, field(data, "title"), field(data, "body"),
                                 field(data, "tags", (list, str), required=False))
    db.session.commit()
    return jsonify(thread_json(thread, [p for p in thread.posts])), 201


def _visible_thread(thread_id: int):
    thread = threads.get_thread(thread_id)
    if not permissions.can_view_thread(api_user(), thread) or thread.merged_into_id:
        raise NotFound("No such thread.")
    return thread


@endpoint("/threads/<int:thread_id>", "GET", summary="A thread with its posts",
          auth="public", response=THREAD, errors=(404,))
def get_thread(thread_id: int):
    thread = _visible_thread(thread_id)
    include_hidden = permissions.can_view_hidden_posts(api_user())
    question, accepted, answers = listings.thread_posts(thread, include_hidden=include_hidden)
    posts = [p for p in (question, accepted) if p] + answers
    return jsonify(thread_json(thread, posts))


@locks_late
@endpoint("/threads/<int:thread_id>/posts", "POST", summary="Answer a thread", status=201,
          body={"type": "object", "required": ["body"], "properties": {"body": {"type": "string"}}},
          response=POST, errors=(400, 401, 403, 404))
@limit("POST_RATE_LIMIT")
def create_post(thread_id: int):
    data = json_body()
    thread = _visible_thread(thread_id)
    user = api_user()
    if not permissions.can_reply(user, thread):
        raise PermissionDenied("This thread is locked." if thread.locked else "You may not reply.")
    post = threads.add_reply(user, thread, field(data, "body"),
                             allowed=lambda locked: permissions.can_reply(user, locked) and not locked.merged_into_id)
    answer = post_json(post)    # before the commit, which expires what it would read again
    db.session.commit()
    return jsonify(answer), 201


@locks_late
@endpoint("/posts/<int:post_id>/vote", "POST", summary="Set your vote on a post (0 withdraws)",
          body={"type": "object", "required": ["value"], "properties": {
              "value": {"type": "integer", "enum": [1, -1, 0]}}},
          response={"type": "object", "properties": {"post_id": {"type": "integer"},
                                                     "score": {"type": "integer"},
                                                     "vote": {"type": "integer"}}},
          errors=(400, 401, 403, 404))
@limit("VOTE_RATE_LIMIT")
def vote(post_id: int):
    data = json_body()
    value = field(data, "value", int)
    if value not in (1, -1, 0):
        raise ValidationError("value must be 1, -1 or 0.", field="value")
    post = threads.get_post(post_id)
    _visible_thread(post.thread_id)
    user = api_user()
    if not permissions.can_view_post(user, post):
        raise NotFound("No such post.")
    refusal = permissions.vote_refusal(user, post, value)
    if refusal:
        raise PermissionDenied(refusal)
    score = votes.set_vote(user, post, value, refusal=permissions.vote_refusal)
    db.session.commit()
    return jsonify({"post_id": post_id, "score": score, "vote": value})


@endpoint("/threads/<int:thread_id>/accept", "POST",
          summary="Accept an answer (post_id null withdraws the accept)",
          body={"type": "object", "required": ["post_id"], "properties": {
              "post_id": {"type": "integer", "nullable": True}}},
          response=THREAD, errors=(400, 401, 403, 404))
def accept(thread_id: int):
    data = json_body()
    thread = _visible_thread(thread_id)
    user = api_user()
    if not permissions.can_accept(user, thread):
        raise PermissionDenied("Only the thread's author or a moderator can accept an answer.")
    post_id = field(data, "post_id", int, nullable=True)
    post = None
    if post_id is not None:
        post = db.session.execute(select(Post).where(Post.id == post_id)).scalar()
        if post is None or post.deleted:
            raise ValidationError("No such answer.", field="post_id")
    accepting.accept(user, thread, post)
    db.session.commit()
    return jsonify(thread_json(thread))


@endpoint("/posts/<int:post_id>", "PATCH",
          summary="Edit a post (the question's title and tags too); the old version is kept",
          body={"type": "object", "required": ["body"], "properties": {
              "body": {"type": "string"}, "title": {"type": "string"},
              "tags": {"type": "array", "items": {"type": "string"}},
              "reason": {"type": "string"}}},
          response=POST, errors=(400, 401, 403, 404))
@limit("POST_RATE_LIMIT")
def edit_post(post_id: int):
    data = json_body()
    post = threads.get_post(post_id)
    _visible_thread(post.thread_id)
    user = api_user()
    if not permissions.can_edit_post(user, post):
        raise PermissionDenied("You may not edit this post.")
    body = field(data, "body")
    title = field(data, "title", required=False)
    tags = field(data, "tags", (list, str), required=False)
    reason = field(data, "reason", required=False) or ""
    threads.edit_post(user, post, body, title=title if post.is_question else None,
                    tags=tags if post.is_question else None, reason=reason)
    db.session.commit()
    return jsonify(post_json(post))


@endpoint("/posts/<int:post_id>", "DELETE",
          summary="Delete a post (deleting the question deletes its thread)",
          response={"type": "object", "properties": {"post_id": {"type": "integer"},
                                                     "thread_deleted": {"type": "boolean"}}},
          errors=(401, 403, 404))
def delete_post(post_id: int):
    post = threads.get_post(post_id)
    _visible_thread(post.thread_id)
    user = api_user()
    if not permissions.can_delete_post(user, post):
        raise PermissionDenied("You may not delete this post.")
    threads.delete_post(user, post)
    db.session.commit()
    return jsonify({"post_id": post.id, "thread_deleted": post.is_question})
