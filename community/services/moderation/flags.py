"""Member flags: raising one, hiding a post after enough of them, the review queue, resolving.

Rules:
- Flagging needs the ``flag`` privilege (``permissions.can_flag``; callers
  check it).  One *open* flag per member per post (409 otherwise).
- When ``FLAGS_TO_HIDE`` distinct members have open spam / offensive /
  off-topic flags on a post, it is hidden pending review (audit action
  ``post.auto_hide`` with no actor).  ``needs_moderator`` flags ask for a
  moderator's attention (they feed the unresolved queue) and never hide.
- A moderator resolves all open flags of a post at once with an outcome:
  ``hidden`` (hide it, or keep it hidden), ``restored`` (it was hidden: show
  it again) or ``dismissed`` (it is visible and stays so).
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import FLAG_OUTCOMES, FLAG_REASONS, Flag, Post, Thread, utcnow
from ...models.moderation import HIDING_REASONS
from ..errors import Conflict, ValidationError
from ..locking import lock
from . import actions, audit

REASON_LABELS = {
    "spam": "Spam",
    "offensive": "Rude or offensive",
    "off_topic": "Off-topic",
    "needs_moderator": "Needs a moderator",
}
OUTCOME_LABELS = {"hidden": "Hidden", "restored": "Restored", "dismissed": "Dismissed"}
NOTE_MAX = 500


def open_flag(user, post_id: int):
    return db.session.execute(
        select(Flag).where(Flag.post_id == post_id, Flag.user_id == user.id,
                           Flag.resolved_at.is_(None))
    ).scalar()


def flag_post(user, post: Post, reason, note="") -> Flag:
    """Record ``user``'s flag on ``post``; may hide the post pending review."""
    if reason not in FLAG_REASONS:
        raise ValidationError(f"Choose a reason: {', '.join(FLAG_REASONS)}.", field="reason")
    if note is not None and not isinstance(note, str):
        raise ValidationError("The note must be text.", field="note")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(f"The note must be at most {NOTE_MAX} characters.", field="note")
    lock(Thread, post.thread_id)  # concurrent flags are counted one after the other
    lock(Post, post.id)
    if open_flag(user, post.id) is not None:
        raise Conflict("You already flagged this post; a moderator will review it.", field="post_id")
    flag = Flag(post_id=post.id, thread_id=post.thread_id, user_id=user.id, reason=reason,
                note=note)
    try:
        with db.session.begin_nested():
            db.session.add(flag)
            db.session.flush()
    except IntegrityError:
        raise Conflict("You already flagged this post; a moderator will review it.",
                       field="post_id") from None
    if reason in HIDING_REASONS and not post.hidden:
        _maybe_auto_hide(post)
    return flag


def hiding_flaggers(post_id: int) -> int:
    """Distinct members with an open spam/offensive/off-topic flag on the post."""
    return db.session.execute(
        select(func.count(func.distinct(Flag.user_id))).where(
            Flag.post_id == post_id, Flag.resolved_at.is_(None), Flag.reason.in_(HIDING_REASONS))
    ).scalar_one()


def _maybe_auto_hide(post: Post) -> None:
    threshold = int(current_app.config["FLAGS_TO_HIDE"])
    count = hiding_flaggers(post.id)
    if threshold > 0 and count >= threshold:
        actions.hide_post(None, post, f"Pending review: flagged by {count} members",
                             action="post.auto_hide")


def resolve(actor, post: Post, outcome, note="") -> list[Flag]:
    """Settle every open flag of ``post`` with ``outcome``; returns the resolved flags."""
    if outcome not in FLAG_OUTCOMES:
        raise ValidationError(f"Choose an outcome: {', '.join(FLAG_OUTCOMES)}.", field="outcome")
    note = actions.clean_reason(note, required=False, field="note")
    flags = list(db.session.execute(
        select(Flag).where(Flag.post_id == post.id, Flag.resolved_at.is_(None))).scalars())
    if not flags:
        raise Conflict("This post has no open flags.")
    hidden_before = post.hidden
    if outcome == "restored" and not post.hidden:
        raise ValidationError("This post is visible: choose “dismissed” or “hidden”.", field="outcome")
    if outcome == "dismissed" and post.hidden:
        raise ValidationError("This post is hidden: choose “restored” or “hidden”.", field="outcome")
    now = utcnow()
    for flag in flags:
        flag.resolved_at, flag.resolved_by_id, flag.outcome = now, actor.id, outcome
    db.session.flush()
    if outcome == "hidden" and not post.hidden:
        reasons = sorted({REASON_LABELS[f.reason].lower() for f in flags})
        actions.hide_post(actor, post, note or f"Flagged: {', '.join(reasons)}")
    elif outcome == "restored":
        actions.restore_post(actor, post, note=note)
    audit.record(actor, "flag.resolve", "post", post.id,
                 before={"hidden": hidden_before, "open_flags": len(flags),
                         "flag_ids": [f.id for f in flags]},
                 after={"hidden": post.hidden, "outcome": outcome}, note=note)
    db.session.flush()
    return flags


def resolve_attention_flags(actor, thread_id: int, outcome: str = "escalated", note: str = "") -> int:
    """Close a thread's open ``needs_moderator`` flags (e.g. when it is escalated to a ticket).

    For the escalation service: the thread leaves the "flagged as needing a
    moderator" part of the unresolved queue.  Returns how many were closed;
    writes one audit entry when any were.
    """
    open_flags = list(db.session.execute(
        select(Flag).where(Flag.thread_id == thread_id, Flag.reason == "needs_moderator",
                           Flag.resolved_at.is_(None))).scalars())
    if not open_flags:
        return 0
    now = utcnow()
    for flag in open_flags:
        flag.resolved_at, flag.resolved_by_id, flag.outcome = now, getattr(actor, "id", None), outcome
    audit.record(actor, "flag.resolve", "thread", thread_id,
                 before={"open_flags": len(open_flags), "flag_ids": [f.id for f in open_flags]},
                 after={"open_flags": 0, "outcome": outcome}, note=note)
    db.session.flush()
    return len(open_flags)


# -- the review queue ----------------------------------------------------------------

def queue(*, reason: str | None = None, page: int = 1, per_page: int = 20) -> dict:
    """Posts with open flags, most-flagged first, each with its flags grouped.

    Three queries whatever the page size: the grouped page, its posts (with
    author and thread), its flags (with flaggers).
    """
    conditions = [Flag.resolved_at.is_(None)]
    if reason in FLAG_REASONS:
        post_ids_with_reason = select(Flag.post_id).where(Flag.resolved_at.is_(None),
                                                          Flag.reason == reason)
        conditions.append(Flag.post_id.in_(post_ids_with_reason))
    grouped = (select(Flag.post_id, func.count(Flag.id).label("n"),
                      func.min(Flag.created_at).label("first"))
               .where(*conditions).group_by(Flag.post_id))
    total = db.session.execute(select(func.count()).select_from(grouped.subquery())).scalar_one()
    page = max(1, page)
    rows = db.session.execute(grouped.order_by(func.count(Flag.id).desc(), func.min(Flag.created_at),
                                               Flag.post_id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    ids = [row.post_id for row in rows]
    posts = {p.id: p for p in db.session.execute(
        select(Post).options(selectinload(Post.author), selectinload(Post.thread))
        .where(Post.id.in_(ids))).scalars()} if ids else {}
    flags_by_post: dict[int, list[Flag]] = {i: [] for i in ids}
    if ids:
        for flag in db.session.execute(
                select(Flag).options(selectinload(Flag.user))
                .where(Flag.post_id.in_(ids), Flag.resolved_at.is_(None)).order_by(Flag.id)).scalars():
            flags_by_post[flag.post_id].append(flag)
    items = []
    for post_id in ids:
        flags = flags_by_post[post_id]
        counts: dict[str, int] = {}
        for flag in flags:
            counts[flag.reason] = counts.get(flag.reason, 0) + 1
        items.append({"post": posts[post_id], "flags": flags, "counts": counts,
                      "first_flagged_at": min(f.created_at for f in flags)})
    pages = max(1, -(-total // per_page))
    return {"items": items, "total": total, "page": page, "pages": pages}


def recently_resolved(limit: int = 15) -> list[Flag]:
    return list(db.session.execute(
        select(Flag).options(selectinload(Flag.user), selectinload(Flag.resolved_by),
                             selectinload(Flag.post).selectinload(Post.thread))
        .where(Flag.resolved_at.is_not(None)).order_by(Flag.resolved_at.desc(), Flag.id.desc())
        .limit(limit)).scalars())


def open_counts_for_thread(thread_id: int) -> dict[int, int]:
    """Open flags per post in one thread, one grouped query (moderator view of a thread)."""
    return dict(db.session.execute(
        select(Flag.post_id, func.count(Flag.id))
        .where(Flag.thread_id == thread_id, Flag.resolved_at.is_(None)).group_by(Flag.post_id)).all())


def flagged_by(user_id: int, thread_id: int) -> set[int]:
    """Posts of a thread that this member has an open flag on."""
    return set(db.session.execute(
        select(Flag.post_id).where(Flag.user_id == user_id, Flag.thread_id == thread_id,
                                   Flag.resolved_at.is_(None))).scalars())


def open_needing_moderator(thread_ids=None):
    """Threads with an open ``needs_moderator`` flag (for the unresolved queue)."""
    stmt = (select(Flag.thread_id, func.count(Flag.id))
            .join(Thread, Thread.id == Flag.thread_id)
            .where(Flag.reason == "needs_moderator", Flag.resolved_at.is_(None),
                   Thread.merged_into_id.is_(None))
            .group_by(Flag.thread_id))
    if thread_ids is not None:
        stmt = stmt.where(Flag.thread_id.in_(list(thread_ids)))
    return dict(db.session.execute(stmt).all())
