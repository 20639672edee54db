"""Moderation over JSON: flag, lock, pin, move, merge, hide, resolve flags, suspend, audit log.

Role checks happen in ``spec.endpoint`` (``roles=``) and again through
``permissions`` for what depends on the object (flag privilege, who may
suspend whom).  Objects the caller may not see answer 404.
"""
from __future__ import annotations

from flask import current_app, jsonify, request

from .. import permissions, urls
from ..extensions import db
from ..models import FLAG_OUTCOMES, FLAG_REASONS, Flag, Post, Thread
from ..services.accounts import users
from ..services.errors import NotFound, PermissionDenied
from ..services.forum import threads
from ..services.moderation import actions, audit_log, flags, merging, suspensions
from .auth import api_user
from .body import field, int_arg, json_body
from .serializers import iso
from .spec import endpoint, schema

MODERATORS = permissions.MODERATORS

FLAG = schema("Flag", {"type": "object", "required": ["id", "post_id", "reason"], "properties": {
    "id": {"type": "integer"}, "post_id": {"type": "integer"}, "thread_id": {"type": "integer"},
    "reason": {"type": "string", "enum": list(FLAG_REASONS)}, "note": {"type": "string"},
    "created_at": {"type": "string"}, "resolved_at": {"type": "string", "nullable": True},
    "outcome": {"type": "string", "nullable": True}, "post_hidden": {"type": "boolean"}}})
THREAD_STATE = schema("ThreadModeration", {"type": "object", "required": ["id"], "properties": {
    "id": {"type": "integer"}, "locked": {"type": "boolean"}, "pinned": {"type": "boolean"},
    "hidden": {"type": "boolean"}, "category_id": {"type": "integer"},
    "merged_into_id": {"type": "integer", "nullable": True}, "reply_count": {"type": "integer"},
    "url": {"type": "string"}}})
POST_STATE = schema("PostModeration", {"type": "object", "required": ["id", "hidden"], "properties": {
    "id": {"type": "integer"}, "thread_id": {"type": "integer"}, "hidden": {"type": "boolean"},
    "hidden_reason": {"type": "string", "nullable": True}, "open_flags": {"type": "integer"}}})
SUSPENSION = schema("Suspension", {"type": "object", "required": ["username", "suspended"], "properties": {
    "username": {"type": "string"}, "suspended": {"type": "boolean"},
    "suspended_until": {"type": "string", "nullable": True},
    "reason": {"type": "string", "nullable": True}}})
AUDIT_ENTRY = schema("AuditEntry", {"type": "object", "required": ["id", "action"], "properties": {
    "id": {"type": "integer"}, "actor": {"type": "string", "nullable": True},
    "action": {"type": "string"}, "target_type": {"type": "string"},
    "target_id": {"type": "integer", "nullable": True},
    "before": {"type": "object", "nullable": True}, "after": {"type": "object", "nullable": True},
    "note": {"type": "string", "nullable": True}, "created_at": {"type": "string"}}})


def flag_json(flag: Flag) -> dict:
    return {"id": flag.id, "post_id": flag.post_id, "thread_id": flag.thread_id,
            "reason": flag.reason, "note": flag.note, "created_at": iso(flag.created_at),
            "resolved_at": iso(flag.resolved_at), "outcome": flag.outcome,
            "post_hidden": bool(flag.post.hidden) if flag.post else False}


def thread_state_json(thread: Thread) -> dict:
    return actions.thread_state(thread) | {
        "id": thread.id, "reply_count": thread.reply_count,
        "url": urls.thread_url(thread, external=True)}


def post_state_json(post: Post) -> dict:
    return {"id": post.id, "thread_id": post.thread_id, "hidden": post.hidden,
            "hidden_reason": post.hidden_reason,
            "open_flags": flags.open_counts_for_thread(post.thread_id).get(post.id, 0)}


def _thread(thread_id: int) -> Thread:
    thread = db.session.get(Thread, thread_id)
    if thread is None or thread.deleted or thread.merged_into_id:
        raise NotFound("No such thread.")
    return thread


def _visible_post(post_id: int) -> Post:
    """The post if the caller may see it (hidden posts exist only for staff)."""
    post = threads.get_post(post_id)
    user = api_user()
    thread = post.thread
    if (thread.merged_into_id or not permissions.can_view_thread(user, thread)
            or (post.hidden and not permissions.can_view_hidden_posts(user))):
        raise NotFound("No such post.")
    return post


@endpoint("/posts/<int:post_id>/flag", "POST", summary="Flag a post for moderators", status=201,
          body={"type": "object", "required": ["reason"], "properties": {
              "reason": {"type": "string", "enum": list(FLAG_REASONS)},
              "note": {"type": "string", "maxLength": flags.NOTE_MAX}}},
          response=FLAG, errors=(400, 401, 403, 404, 409), tag="moderation",
          description="Needs the `flag` privilege (reputation). One open flag per member per post. "
                      "Enough spam/offensive/off-topic flags from different members hide the post "
                      "pending review.")
def flag_post(post_id: int):
    data = json_body()
    post = _visible_post(post_id)
    user = api_user()
    refusal = permissions.flag_refusal(user, post)
    if refusal:
        raise PermissionDenied(refusal)
    flag = flags.flag_post(user, post, field(data, "reason"),
                           field(data, "note", required=False) or "")
    db.session.commit()
    return jsonify(flag_json(flag)), 201


@endpoint("/threads/<int:thread_id>/lock", "POST", summary="Lock or unlock a thread",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "required": ["locked"], "properties": {"locked": {"type": "boolean"}}},
          response=THREAD_STATE, errors=(400, 401, 403, 404, 409))
def lock_thread(thread_id: int):
    return _switch(thread_id, "locked", actions.set_locked)


@endpoint("/threads/<int:thread_id>/pin", "POST", summary="Pin or unpin a thread",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "required": ["pinned"], "properties": {"pinned": {"type": "boolean"}}},
          response=THREAD_STATE, errors=(400, 401, 403, 404, 409))
def pin_thread(thread_id: int):
    return _switch(thread_id, "pinned", actions.set_pinned)


def _switch(thread_id: int, name: str, action):
    """Lock/unlock, pin/unpin: the boolean ``name`` of the body, one action, one commit."""
    value = field(json_body(), name, bool)
    thread = _thread(thread_id)
    action(api_user(), thread, value)
    db.session.commit()
    return jsonify(thread_state_json(thread))


@endpoint("/threads/<int:thread_id>/move", "POST", summary="Move a thread to another category",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "required": ["category_id"], "properties": {
              "category_id": {"type": "integer"}}},
          response=THREAD_STATE, errors=(400, 401, 403, 404, 409))
def move_thread(thread_id: int):
    data = json_body()
    category_id = field(data, "category_id", int)
    thread = _thread(thread_id)
    actions.move(api_user(), thread, category_id)
    db.session.commit()
    return jsonify(thread_state_json(thread))


@endpoint("/threads/<int:thread_id>/merge", "POST", summary="Merge this thread into another",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "required": ["target_id"], "properties": {
              "target_id": {"type": "integer"}, "note": {"type": "string"}}},
          response=THREAD_STATE, errors=(400, 401, 403, 404, 409),
          description="Answers, votes and the question move to the target; this thread's URL "
                      "redirects there. Reputation is unchanged. Returns the target thread.")
def merge_thread(thread_id: int):
    data = json_body()
    target_id = field(data, "target_id", int)
    note = field(data, "note", required=False) or ""
    thread = _thread(thread_id)
    target = merging.merge(api_user(), thread, target_id, note=note)
    db.session.commit()
    return jsonify(thread_state_json(target))


@endpoint("/threads/<int:thread_id>/hide", "POST", summary="Hide or restore a thread",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "required": ["hidden"], "properties": {
              "hidden": {"type": "boolean"}, "reason": {"type": "string"}}},
          response=THREAD_STATE, errors=(400, 401, 403, 404, 409))
def hide_thread(thread_id: int):
    data = json_body()
    hidden = field(data, "hidden", bool)
    reason = field(data, "reason", required=hidden)
    thread = _thread(thread_id)
    if hidden:
        actions.hide_thread(api_user(), thread, reason)
    else:
        actions.restore_thread(api_user(), thread, note=reason or "")
    db.session.commit()
    return jsonify(thread_state_json(thread))


@endpoint("/posts/<int:post_id>/hide", "POST", summary="Hide or restore a post",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "required": ["hidden"], "properties": {
              "hidden": {"type": "boolean"}, "reason": {"type": "string"}}},
          response=POST_STATE, errors=(400, 401, 403, 404, 409),
          description="`reason` is required to hide. Hiding the question hides its thread. "
                      "Content is never deleted; hidden posts are visible to staff only.")
def hide_post(post_id: int):
    data = json_body()
    hidden = field(data, "hidden", bool)
    reason = field(data, "reason", required=hidden)
    post = _visible_post(post_id)
    if hidden:
        actions.hide_post(api_user(), post, reason)
    else:
        actions.restore_post(api_user(), post, note=reason or "")
    db.session.commit()
    return jsonify(post_state_json(post))


@endpoint("/moderation/flags", "GET", summary="The review queue: flagged posts with their open flags",
          roles=MODERATORS, tag="moderation",
          params=[{"name": "reason", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": list(FLAG_REASONS)}},
                  {"name": "page", "in": "query", "required": False,
                   "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}],
          response={"type": "object", "properties": {
              "total": {"type": "integer"}, "page": {"type": "integer"}, "pages": {"type": "integer"},
              "items": {"type": "array", "items": {"type": "object", "properties": {
                  "post": POST_STATE, "counts": {"type": "object"},
                  "flags": {"type": "array", "items": FLAG}}}}}},
          errors=(400, 401, 403))
def flag_queue():
    if not permissions.can_moderate(api_user()):
        raise PermissionDenied("Only active moderators may review flags.")
    reason = request.args.get("reason") or None
    if reason is not None and reason not in FLAG_REASONS:
        from ..services.errors import ValidationError

        raise ValidationError(f"reason must be one of {', '.join(FLAG_REASONS)}.", field="reason")
    page = int_arg("page", 1, low=1, high=10000)
    data = flags.queue(reason=reason, page=page)
    items = [{"post": {"id": i["post"].id, "thread_id": i["post"].thread_id,
                       "hidden": i["post"].hidden, "hidden_reason": i["post"].hidden_reason,
                       "open_flags": len(i["flags"])},
              "counts": i["counts"], "flags": [flag_json(f) for f in i["flags"]]}
             for i in data["items"]]
    return jsonify({"total": data["total"], "page": data["page"], "pages": data["pages"],
                    "items": items})


@endpoint("/posts/<int:post_id>/flags/resolve", "POST", summary="Resolve a post's open flags",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "required": ["outcome"], "properties": {
              "outcome": {"type": "string", "enum": list(FLAG_OUTCOMES)}, "note": {"type": "string"}}},
          response=POST_STATE, errors=(400, 401, 403, 404, 409))
def resolve_flags(post_id: int):
    data = json_body()
    outcome = field(data, "outcome")
    note = field(data, "note", required=False) or ""
    post = _visible_post(post_id)
    flags.resolve(api_user(), post, outcome, note)
    db.session.commit()
    return jsonify(post_state_json(post))


@endpoint("/users/<username>/suspend", "POST", summary="Suspend an account until a date",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "required": ["reason", "until"], "properties": {
              "reason": {"type": "string"},
              "until": {"type": "string", "description": "YYYY-MM-DD or ISO date-time (UTC)"}}},
          response=SUSPENSION, errors=(400, 401, 403, 404))
def suspend_user(username: str):
    data = json_body()
    target = users.get_by_username(username)
    if not permissions.can_suspend(api_user(), target):
        raise PermissionDenied("Moderators suspend members; only admins suspend staff, and "
                               "nobody suspends themselves.")
    suspensions.suspend(api_user(), target, field(data, "reason"), field(data, "until"))
    db.session.commit()
    return jsonify(_suspension_json(target))


@endpoint("/users/<username>/reinstate", "POST", summary="End a suspension now",
          roles=MODERATORS, tag="moderation",
          body={"type": "object", "properties": {"note": {"type": "string"}}},
          response=SUSPENSION, errors=(400, 401, 403, 404, 409))
def reinstate_user(username: str):
    data = json_body()
    target = users.get_by_username(username)
    if not permissions.can_suspend(api_user(), target):
        raise PermissionDenied("You may not reinstate this account.")
    suspensions.reinstate(api_user(), target, field(data, "note", required=False) or "")
    db.session.commit()
    return jsonify(_suspension_json(target))


def _suspension_json(user) -> dict:
    return {"username": user.username, "suspended": user.is_suspended,
            "suspended_until": iso(user.suspended_until) if user.is_suspended else None,
            "reason": user.suspension_reason if user.is_suspended else None}


@endpoint("/audit", "GET", summary="The audit log, newest first", roles=MODERATORS, tag="moderation",
          params=[{"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                  for n in ("actor", "action", "target_type", "since", "until")]
          + [{"name": "target_id", "in": "query", "required": False, "schema": {"type": "integer"}},
             {"name": "page", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 1, "maximum": 100000}}],
          response={"type": "object", "properties": {
              "total": {"type": "integer"}, "page": {"type": "integer"},
              "entries": {"type": "array", "items": AUDIT_ENTRY}}},
          errors=(400, 401, 403))
def audit_entries():
    if not permissions.can_view_audit_log(api_user()):
        raise PermissionDenied("Only active moderators and admins may read the audit log.")
    args = request.args
    target_type = args.get("target_type") or None
    if target_type is not None and target_type not in audit_log.TARGET_TYPES:
        from ..services.errors import ValidationError

        raise ValidationError(f"target_type must be one of {', '.join(audit_log.TARGET_TYPES)}.",
                              field="target_type")
    stmt = audit_log.query(
        actor=args.get("actor") or None, action=args.get("action") or None, target_type=target_type,
        target_id=int_arg("target_id", 0, low=0, high=2**31 - 1) or None,
        since=audit_log.parse_day(args.get("since"), "since"),
        until=audit_log.parse_day(args.get("until"), "until"))
    page = int_arg("page", 1, low=1, high=100000)
    per_page = current_app.config["AUDIT_PAGE_SIZE"]
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)
    entries = [{"id": e.id, "actor": e.actor.username if e.actor else None, "action": e.action,
                "target_type": e.target_type, "target_id": e.target_id, "before": e.before,
                "after": e.after, "note": e.note, "created_at": iso(e.created_at)}
               for e in pagination.items]
    return jsonify({"total": pagination.total, "page": page, "entries": entries})
