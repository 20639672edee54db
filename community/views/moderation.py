"""Moderation pages: the flag review queue, thread/post/user actions, the audit log.

Every action is a POST form from the thread page, the queue or a profile; it
checks its permission, calls one service, commits once and returns where it
came from with a message.  Anonymous users are sent to log in; logged-in
users without the right get 403.
"""
from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from .. import permissions, urls
from ..models import FLAG_REASONS, utcnow
from ..services.accounts import users
from ..services import inputs
from ..services.errors import ServiceError
from ..services.forum import threads
from ..services.moderation import actions as moderation_actions
from ..services.moderation import audit_log, flags, merging, suspensions
from .actions import commit, commit_and_redirect
from .util import paginate

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


@bp.record
def _setup(state) -> None:
    state.app.jinja_env.filters["audit_value"] = _audit_value
    state.app.jinja_env.globals.update(
        moderation_flag_reasons=flags.REASON_LABELS,
        suspend_default_until=lambda: (utcnow() + timedelta(days=7)).date().isoformat(),
    )


def _audit_value(value) -> str:
    """One before/after value, readable: yes/no, — for nothing, long text shortened."""
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        value = ", ".join(f"{k}: {_audit_value(v)}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= 140 else text[:139] + "…"


def _require_moderator() -> None:
    if not permissions.can_moderate(current_user):
        abort(403)


def _live_thread(thread_id: int):
    thread = threads.get_thread(thread_id)
    if thread.merged_into_id or thread.deleted:
        abort(404)
    return thread


# -- the review queue ------------------------------------------------------------------

@bp.get("")
@login_required
def queue():
    _require_moderator()
    reason = request.args.get("reason")
    reason = reason if reason in FLAG_REASONS else None
    page = request.args.get("page", 1, type=int) or 1
    data = flags.queue(reason=reason, page=page)
    return render_template("moderation/queue.html", data=data, reason=reason,
                           reasons=flags.REASON_LABELS, outcomes=flags.OUTCOME_LABELS,
                           resolved=flags.recently_resolved(), threshold=_threshold())


def _threshold() -> int:
    return int(current_app.config["FLAGS_TO_HIDE"])


@bp.post("/posts/<int:post_id>/resolve")
@login_required
def resolve(post_id: int):
    _require_moderator()
    post = threads.get_post(post_id)
    outcome = request.form.get("outcome", "")
    label = flags.OUTCOME_LABELS.get(outcome, outcome).lower()
    return commit_and_redirect(lambda: flags.resolve(current_user, post, outcome, request.form.get("note", "")),
                               success=f"Flags resolved: {label}.", back=url_for("moderation.queue"))


# -- flags from members --------------------------------------------------------------

@bp.post("/posts/<int:post_id>/flag")
@login_required
def flag(post_id: int):
    post = threads.get_post(post_id)
    thread = post.thread
    hidden_to_me = post.hidden and not permissions.can_view_hidden_posts(current_user)
    if thread.merged_into_id or not permissions.can_view_thread(current_user, thread) or hidden_to_me:
        abort(404)
    back = urls.thread_url(thread, post.id)
    refusal = permissions.flag_refusal(current_user, post)
    if refusal:
        abort(403, description=refusal)
    return commit_and_redirect(lambda: flags.flag_post(current_user, post, request.form.get("reason"),
                                                       request.form.get("note", "")),
                               success="Thanks: your flag was sent to the moderators.", back=back)


# -- thread tools ----------------------------------------------------------------------

@bp.post("/threads/<int:thread_id>/lock")
@login_required
def lock(thread_id: int):
    _require_moderator()
    thread = _live_thread(thread_id)
    locked = request.form.get("locked", "1") == "1"
    return commit_and_redirect(lambda: moderation_actions.set_locked(current_user, thread, locked),
                               success="Thread locked: only moderators can answer." if locked else "Thread unlocked.",
                               back=urls.thread_url(thread))


@bp.post("/threads/<int:thread_id>/pin")
@login_required
def pin(thread_id: int):
    _require_moderator()
    thread = _live_thread(thread_id)
    pinned = request.form.get("pinned", "1") == "1"
    return commit_and_redirect(lambda: moderation_actions.set_pinned(current_user, thread, pinned),
                               success="Thread pinned to the top of its category." if pinned else "Thread unpinned.",
                               back=urls.thread_url(thread))


@bp.post("/threads/<int:thread_id>/move")
@login_required
def move(thread_id: int):
    _require_moderator()
    thread = _live_thread(thread_id)
    return commit_and_redirect(lambda: moderation_actions.move(current_user, thread, request.form.get("category_id")),
                               success="Thread moved.", back=urls.thread_url(thread))


@bp.post("/threads/<int:thread_id>/merge")
@login_required
def merge(thread_id: int):
    _require_moderator()
    thread = _live_thread(thread_id)
    outcome = commit(lambda: merging.merge(current_user, thread, request.form.get("target", ""),
                                           note=request.form.get("note", "")))
    if outcome.error:
        flash(outcome.error.message, "error")
        return redirect(urls.thread_url(thread))
    flash(f"Merged “{thread.title}” into this thread; its address now leads here.", "success")
    return redirect(urls.thread_url(outcome.value))


@bp.post("/threads/<int:thread_id>/hide")
@login_required
def hide_thread(thread_id: int):
    _require_moderator()
    thread = _live_thread(thread_id)
    return commit_and_redirect(lambda: moderation_actions.hide_thread(current_user, thread, request.form.get("reason")),
                               success="Thread hidden: only staff (and its author) can see it.", back=urls.thread_url(thread))


@bp.post("/threads/<int:thread_id>/restore")
@login_required
def restore_thread(thread_id: int):
    _require_moderator()
    thread = _live_thread(thread_id)
    return commit_and_redirect(lambda: moderation_actions.restore_thread(current_user, thread, note=request.form.get("note", "")),
                               success="Thread restored: everyone can see it again.", back=urls.thread_url(thread))


# -- post tools ------------------------------------------------------------------------

@bp.post("/posts/<int:post_id>/hide")
@login_required
def hide_post(post_id: int):
    _require_moderator()
    post = threads.get_post(post_id)
    return commit_and_redirect(lambda: moderation_actions.hide_post(current_user, post, request.form.get("reason")),
                               success="Post hidden: only staff can see it.", back=urls.thread_url(post.thread, post.id))


@bp.post("/posts/<int:post_id>/restore")
@login_required
def restore_post(post_id: int):
    _require_moderator()
    post = threads.get_post(post_id)
    return commit_and_redirect(lambda: moderation_actions.restore_post(current_user, post, note=request.form.get("note", "")),
                               success="Post restored.", back=urls.thread_url(post.thread, post.id))


# -- suspensions ------------------------------------------------------------------------

@bp.post("/users/<username>/suspend")
@login_required
def suspend(username: str):
    target = users.get_by_username(username)
    if not permissions.can_suspend(current_user, target):
        abort(403)
    profile = url_for("users.profile", username=target.username)
    return commit_and_redirect(lambda: suspensions.suspend(current_user, target, request.form.get("reason"),
                                                           request.form.get("until")),
                               success=f"{target.username} is suspended.", back=profile)


@bp.post("/users/<username>/reinstate")
@login_required
def reinstate(username: str):
    target = users.get_by_username(username)
    if not permissions.can_suspend(current_user, target):
        abort(403)
    profile = url_for("users.profile", username=target.username)
    return commit_and_redirect(lambda: suspensions.reinstate(current_user, target, request.form.get("note", "")),
                               success=f"{target.username} is reinstated.", back=profile)


# -- the audit log ----------------------------------------------------------------------

@bp.get("/audit")
@login_required
def audit():
    if not permissions.can_view_audit_log(current_user):
        abort(403)
    args = request.args
    filters = {"actor": args.get("actor", "").strip(), "action": args.get("action", "").strip(),
               "target_type": args.get("target_type", "").strip(),
               "target_id": args.get("target_id", "").strip(),
               "since": args.get("since", "").strip(), "until": args.get("until", "").strip()}
    error = None
    try:
        target_id = inputs.parse_id(filters["target_id"], "target_id") if filters["target_id"] else None
    except ServiceError:
        target_id, error = None, ServiceError("The target id must be a number.", field="target_id")
    try:
        since = audit_log.parse_day(filters["since"], "since")
        until = audit_log.parse_day(filters["until"], "until")
    except ServiceError as exc:
        since = until = None
        error = exc
    target_type = filters["target_type"] if filters["target_type"] in audit_log.TARGET_TYPES else None
    stmt = audit_log.query(actor=filters["actor"] or None, action=filters["action"] or None,
                           target_type=target_type, target_id=target_id, since=since, until=until)
    pagination = paginate(stmt, per_page=current_app.config["AUDIT_PAGE_SIZE"])
    links = audit_log.target_urls(pagination.items)
    return render_template("moderation/audit.html", pagination=pagination, filters=filters,
                           target_url=lambda e: links.get((e.target_type, e.target_id)),
                           error=error, actions=audit_log.actions(), actors=audit_log.actors(),
                           target_types=audit_log.TARGET_TYPES), 400 if error else 200
