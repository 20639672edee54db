"""Moderator tools on threads and posts: lock, pin, move, hide and restore.

Merging lives in ``moderation_merge.py``, flags in ``flags.py``, suspensions in
``suspensions.py``.  Like every service these do not check permissions (the
caller checks ``permissions.can_moderate``) and do not commit; each action
writes its audit entry in the same transaction, with the state before and
after.  An action that changes nothing (locking a locked thread) writes
nothing and returns the object as it is.

Hiding is never deleting: the row stays, ``hidden`` and ``hidden_reason`` are
set, and only staff (``permissions.can_view_hidden_posts``) see it.  Rules:

- Hiding a thread hides its question post too (the reason lives on the
  question's ``hidden_reason``); hiding the question post hides its thread.
- ``Thread.reply_count`` counts the answers members can see, so hiding an
  answer decrements it and restoring increments it again.
- Reputation is untouched by hiding: it is reversible and pending review.
  The one exception follows an existing rule (a hidden answer cannot be
  accepted): hiding the accepted answer withdraws the accept, reversing its
  +15/+2 exactly as the asker withdrawing it would.  Restoring does not
  re-accept; the asker can accept again.
- Hiding or restoring a post resolves its open flags with that outcome.
"""
from __future__ import annotations

from sqlalchemy import update

from ...extensions import db
from ...models import Category, Flag, Post, Thread, utcnow
from .. import inputs
from ..errors import Conflict, ValidationError
from ..locking import lock
from . import audit

REASON_MAX = 300


def thread_state(thread: Thread) -> dict:
    """The moderation-relevant state of a thread, for audit entries and the API."""
    return {"locked": thread.locked, "pinned": thread.pinned, "hidden": thread.hidden,
            "category_id": thread.category_id, "merged_into_id": thread.merged_into_id}


def post_state(post: Post) -> dict:
    return {"hidden": post.hidden, "hidden_reason": post.hidden_reason}


def clean_reason(reason, *, required: bool = True, field: str = "reason") -> str:
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("The reason must be text.", field=field)
    reason = " ".join((reason or "").split())
    if required and len(reason) < 3:
        raise ValidationError("Give a reason (at least 3 characters): it is shown to staff "
                              "and kept in the audit log.", field=field)
    if len(reason) > REASON_MAX:
        raise ValidationError(f"The reason must be at most {REASON_MAX} characters.", field=field)
    return reason


def _require_live(thread: Thread) -> None:
    """Lock and re-read the thread (concurrent moderators act one after the other), then check it."""
    lock(Thread, thread.id)
    if thread.merged_into_id:
        raise Conflict("This thread was merged into another one; moderate that thread instead.")
    if thread.deleted:
        raise Conflict("This thread is deleted.")


# -- lock, pin, move ------------------------------------------------------------

def set_locked(actor, thread: Thread, locked: bool, *, note: str = "") -> Thread:
    """Lock (no new answers except from moderators) or unlock a thread."""
    return _set_flag(actor, thread, "locked", bool(locked), "thread.lock" if locked else "thread.unlock",
                     note)


def set_pinned(actor, thread: Thread, pinned: bool, *, note: str = "") -> Thread:
    """Pin a thread to the top of its category's listing, or unpin it."""
    return _set_flag(actor, thread, "pinned", bool(pinned), "thread.pin" if pinned else "thread.unpin",
                     note)


def _set_flag(actor, thread: Thread, attr: str, value: bool, action: str, note: str) -> Thread:
    _require_live(thread)
    if getattr(thread, attr) == value:
        return thread
    before = thread_state(thread)
    setattr(thread, attr, value)
    audit.record(actor, action, "thread", thread.id, before=before, after=thread_state(thread),
                 note=note)
    db.session.flush()
    return thread


def move(actor, thread: Thread, category_id, *, note: str = "") -> Thread:
    """Move a thread to another category."""
    _require_live(thread)
    number = inputs.id_or_none(category_id)
    category = db.session.get(Category, number) if number is not None else None
    if category is None:
        raise ValidationError("Choose an existing category.", field="category_id")
    if category.id == thread.category_id:
        return thread
    before = thread_state(thread)
    before["category"] = thread.category.name
    thread.category = category
    thread.category_id = category.id
    after = thread_state(thread)
    after["category"] = category.name
    audit.record(actor, "thread.move", "thread", thread.id, before=before, after=after, note=note)
    db.session.flush()
    return thread


# -- hide and restore -------------------------------------------------------------

def hide_thread(actor, thread: Thread, reason: str, *, action: str = "thread.hide") -> Thread:
    """Hide a thread (and its question) from everyone but staff and its author."""
    _require_live(thread)
    reason = clean_reason(reason)
    if thread.hidden:
        return thread
    before = thread_state(thread)
    thread.hidden = True
    question = thread.question_post
    if question is not None:
        question.hidden = True
        question.hidden_reason = reason
        _resolve_open_flags(actor, question, "hidden")
    after = thread_state(thread)
    after["reason"] = reason
    audit.record(actor, action, "thread", thread.id, before=before, after=after, note=reason)
    db.session.flush()
    return thread


def restore_thread(actor, thread: Thread, *, note: str = "") -> Thread:
    _require_live(thread)
    if not thread.hidden:
        return thread
    before = thread_state(thread)
    question = thread.question_post
    if question is not None:
        before["reason"] = question.hidden_reason
        question.hidden = False
        question.hidden_reason = None
        _resolve_open_flags(actor, question, "restored")
    thread.hidden = False
    audit.record(actor, "thread.restore", "thread", thread.id, before=before,
                 after=thread_state(thread), note=note)
    db.session.flush()
    return thread


def hide_post(actor, post: Post, reason: str, *, action: str = "post.hide") -> Post:
    """Hide one post; the question post hides its whole thread."""
    if post.is_question:
        hide_thread(actor, post.thread, reason, action=action.replace("post.", "thread."))
        return post
    reason = clean_reason(reason)
    _require_live(post.thread)
    if post.hidden or not _switch_hidden(post, True, reason):
        return post  # already hidden (perhaps by a concurrent request): nothing to do
    before = {"hidden": False, "hidden_reason": None}
    thread = post.thread
    was_accepted = thread.accepted_post_id == post.id
    if was_accepted:
        from types import SimpleNamespace

        from ..forum.accepting import withdraw_accept  # local: accepting imports forum

        withdraw_accept(actor or SimpleNamespace(id=None), thread)
    if not post.deleted:  # a deleted answer already left reply_count
        thread.reply_count = Thread.reply_count - 1
    _resolve_open_flags(actor, post, "hidden")
    after = post_state(post)
    if was_accepted:
        before["accepted"], after["accepted"] = True, False
    audit.record(actor, action, "post", post.id, before=before, after=after, note=reason)
    db.session.flush()
    return post


def restore_post(actor, post: Post, *, note: str = "") -> Post:
    if post.is_question:
        restore_thread(actor, post.thread, note=note)
        return post
    _require_live(post.thread)
    before = post_state(post)
    if not post.hidden or not _switch_hidden(post, False, None):
        return post
    if not post.deleted:
        post.thread.reply_count = Thread.reply_count + 1
    _resolve_open_flags(actor, post, "restored")
    audit.record(actor, "post.restore", "post", post.id, before=before, after=post_state(post),
                 note=note)
    db.session.flush()
    return post


def _switch_hidden(post: Post, hidden: bool, reason: str | None) -> bool:
    """Flip ``post.hidden`` with a conditional UPDATE; False if it was already so.

    Two concurrent hides (say, two members' flags reaching the threshold at
    once) must not both decrement the thread's ``reply_count``: the row lock
    makes the second UPDATE match nothing, and it stops there.
    """
    db.session.flush()
    result = db.session.execute(
        update(Post).where(Post.id == post.id, Post.hidden.is_(not hidden))
        .values(hidden=hidden, hidden_reason=reason)
        .execution_options(synchronize_session=False))
    db.session.expire(post, ["hidden", "hidden_reason"])
    return result.rowcount == 1


def _resolve_open_flags(actor, post: Post, outcome: str) -> int:
    """A moderator's hide/restore settles the post's open flags (not an automatic hide)."""
    if actor is None:
        return 0
    result = db.session.execute(
        update(Flag).where(Flag.post_id == post.id, Flag.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=actor.id, outcome=outcome)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0
