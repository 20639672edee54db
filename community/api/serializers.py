"""Model → JSON, and the matching OpenAPI component schemas."""
from __future__ import annotations

from ..models import Category, Post, Thread, User
from ..services.forum.reputation import rank_for
from ..urls import thread_url
from .spec import schema


def iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def category_json(category: Category, stats: dict | None = None) -> dict:
    data = {"id": category.id, "name": category.name, "slug": category.slug,
            "description": category.description}
    if stats is not None:
        data["threads"] = stats.get("threads", 0)
        data["solved"] = stats.get("solved", 0)
    return data


def user_summary(user: User) -> dict:
    return {"username": user.username, "reputation": user.reputation}


def post_json(post: Post) -> dict:
    return {
        "id": post.id, "thread_id": post.thread_id, "is_question": post.is_question,
        "official": post.is_official, "author": user_summary(post.author),
        "body": post.body, "body_html": post.body_html, "score": post.score,
        "created_at": iso(post.created_at), "edited_at": iso(post.edited_at),
        "hidden": post.hidden,  # only staff ever receive hidden posts
    }


def thread_json(thread: Thread, posts: list[Post] | None = None) -> dict:
    data = {
        "id": thread.id, "title": thread.title, "url": thread_url(thread, external=True),
        "category": category_json(thread.category), "tags": [t.name for t in thread.tags],
        "author": user_summary(thread.author), "score": thread.score,
        "reply_count": thread.reply_count, "view_count": thread.view_count,
        "solved": thread.solved, "accepted_post_id": thread.accepted_post_id,
        "question_post_id": thread.question_post_id, "locked": thread.locked,
        "pinned": thread.pinned, "created_at": iso(thread.created_at),
        "last_activity_at": iso(thread.last_activity_at),
    }
    if posts is not None:
        data["posts"] = [post_json(p) for p in posts]
    return data


def user_json(user: User, stats: dict) -> dict:
    return {
        "username": user.username, "role": user.role, "reputation": user.reputation,
        "rank": rank_for(user.reputation), "created_at": iso(user.created_at),
        "questions": stats["questions"], "answers": stats["answers"],
        "accepted_answers": stats["accepted_answers"], "suspended": user.is_suspended,
    }


_user_summary = schema("UserSummary", {"type": "object", "properties": {
    "username": {"type": "string"}, "reputation": {"type": "integer"}}})
CATEGORY = schema("Category", {"type": "object", "required": ["id", "name"], "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "slug": {"type": "string"},
    "description": {"type": "string"}, "threads": {"type": "integer"}, "solved": {"type": "integer"}}})
POST = schema("Post", {"type": "object", "required": ["id", "thread_id", "body", "score"], "properties": {
    "id": {"type": "integer"}, "thread_id": {"type": "integer"}, "is_question": {"type": "boolean"},
    "official": {"type": "boolean"}, "author": _user_summary, "body": {"type": "string"},
    "body_html": {"type": "string"}, "score": {"type": "integer"},
    "created_at": {"type": "string", "format": "date-time"},
    "edited_at": {"type": "string", "format": "date-time", "nullable": True},
    "hidden": {"type": "boolean"}}})
THREAD = schema("Thread", {"type": "object", "required": ["id", "title", "solved"], "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "url": {"type": "string"},
    "category": CATEGORY, "tags": {"type": "array", "items": {"type": "string"}},
    "author": _user_summary, "score": {"type": "integer"}, "reply_count": {"type": "integer"},
    "view_count": {"type": "integer"}, "solved": {"type": "boolean"},
    "accepted_post_id": {"type": "integer", "nullable": True},
    "question_post_id": {"type": "integer", "nullable": True},
    "locked": {"type": "boolean"}, "pinned": {"type": "boolean"},
    "created_at": {"type": "string"}, "last_activity_at": {"type": "string"},
    "posts": {"type": "array", "items": POST}}})
USER = schema("User", {"type": "object", "required": ["username", "role", "reputation", "rank"],
                       "properties": {
    "username": {"type": "string"}, "role": {"type": "string"}, "reputation": {"type": "integer"},
    "rank": {"type": "string"}, "created_at": {"type": "string"}, "questions": {"type": "integer"},
    "answers": {"type": "integer"}, "accepted_answers": {"type": "integer"},
    "suspended": {"type": "boolean"}}})
