"""Merging a duplicate thread A into thread B.

What a merge does, and why:

- Every post of A moves to B, the question included: A's question becomes
  an answer in B (``is_question`` cleared), headed by a quoted line naming
  the thread it came from.  The original text is kept as a revision, so the
  history shows exactly what changed.  Nothing a member wrote disappears.
- Votes stay on their posts, so they move with them; post scores are
  unchanged.  B's score (its question's votes) is unchanged.
- Reputation: nothing is awarded or lost.  The ledger is not touched, so
  every user's total is the same before and after.  A later change of a
  moved vote reverses its original ledger row exactly, as always.
- Accepted answers: B keeps its own state.  If A had an accepted answer and
  B has none, B stays unsolved: accepting for B is B's asker's decision, and
  accepting through the merge would award +15/+2 a second time for the same
  answer.  A's accept (and the reputation it earned) stays on record on A.
- A gets ``merged_into_id = B``: its URL answers 301 to B, so links,
  notifications and anything pointing at A keep working; A leaves every
  listing.  Notifications and open flags that referenced A now reference B,
  and threads previously merged into A now point straight at B.
- B's counters are recomputed from its posts: ``reply_count`` (visible
  answers) and ``last_activity_at``; A's views are added to B's.  The time
  to a first reply is not stored: community health reads it from the
  replies themselves (a reply merged in from an older thread counts as 0 s).
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from ...extensions import db
from ...markup import render_markdown
from ...models import Flag, Notification, Post, PostRevision, Thread, utcnow
from .. import inputs
from ..errors import Conflict, NotFound, ValidationError
from ..locking import lock_many
from . import audit


def parse_thread_ref(value) -> int:
    """A thread id from ``123``, ``"123"`` or a thread URL (``/threads/123/slug``)."""
    import re

    if isinstance(value, int) and not isinstance(value, bool):
        return inputs.parse_id(value, "target_id")
    match = re.search(r"(?:/threads/)?(\d+)", str(value or ""))
    if not match:
        raise ValidationError("Give the number or the address of the thread to merge into.",
                              field="target_id")
    return inputs.parse_id(match.group(1), "target_id")


def merge(actor, source: Thread, target_id, *, note: str = "") -> Thread:
    """Merge ``source`` into the thread ``target_id``; returns the target."""
    target_id = parse_thread_ref(target_id)
    # Both threads locked (in id order) and re-read: a concurrent merge of the same pair waits.
    lock_many(Thread, [source.id, target_id])
    target = db.session.get(Thread, target_id)
    if target is None:
        raise NotFound("The thread to merge into does not exist.", field="target_id")
    if target.id == source.id:
        raise ValidationError("A thread cannot be merged into itself.", field="target_id")
    if source.merged_into_id:
        raise Conflict("This thread was already merged.")
    if target.merged_into_id or target.deleted:
        raise ValidationError("The target thread was merged or deleted; choose a live thread.",
                              field="target_id")
    if source.deleted:
        raise Conflict("This thread is deleted.")

    before = {"source": _summary(source), "target": _summary(target)}
    moved = list(db.session.execute(
        select(Post).where(Post.thread_id == source.id).order_by(Post.id)).scalars())
    for post in moved:
        if post.is_question:
            _question_to_answer(actor, post, source)
        post.thread_id = target.id
    db.session.execute(update(Flag).where(Flag.thread_id == source.id)
                       .values(thread_id=target.id).execution_options(synchronize_session=False))
    db.session.execute(update(Notification).where(Notification.thread_id == source.id)
                       .values(thread_id=target.id).execution_options(synchronize_session=False))
    db.session.execute(update(Thread).where(Thread.merged_into_id == source.id)
                       .values(merged_into_id=target.id).execution_options(synchronize_session=False))
    source.merged_into_id = target.id
    source.pinned = False
    target.view_count = Thread.view_count + (source.view_count or 0)
    db.session.flush()
    recount(target)
    db.session.flush()
    db.session.expire(source, ["posts"])
    db.session.expire(target, ["posts"])
    for post in moved:
        db.session.expire(post, ["thread"])
    after = {"source": _summary(source), "target": _summary(target),
             "moved_post_ids": [p.id for p in moved]}
    audit.record(actor, "thread.merge", "thread", source.id, before=before, after=after,
                 note=note or f"Merged into thread {target.id}")
    return target


def _question_to_answer(actor, post: Post, source: Thread) -> None:
    """A's question joins B as an answer, with a line saying where it came from."""
    db.session.add(PostRevision(post_id=post.id, editor_id=actor.id, body=post.body,
                                title=source.title, tags=" ".join(t.name for t in source.tags),
                                reason=f"Merged from thread {source.id}"))
    title = source.title.replace("*", "\\*").replace("_", "\\_")
    post.body = f"> *Merged from the question “{title}”*\n\n{post.body}"
    post.body_html = render_markdown(post.body)
    post.is_question = False
    post.edited_at = utcnow()
    post.edited_by_id = actor.id


def recount(thread: Thread) -> None:
    """Recompute a thread's counters from its posts (after posts moved in or out)."""
    answers = (Post.thread_id == thread.id, Post.is_question.is_(False), Post.deleted.is_(False))
    visible, last_post = db.session.execute(
        select(func.count(Post.id).filter(Post.hidden.is_(False)), func.max(Post.created_at))
        .where(*answers)
    ).one()
    thread.reply_count = visible or 0
    latest = max(x for x in (thread.last_activity_at, last_post, thread.created_at) if x)
    thread.last_activity_at = latest


def _summary(thread: Thread) -> dict:
    return {"id": thread.id, "title": thread.title, "reply_count": thread.reply_count,
            "accepted_post_id": thread.accepted_post_id, "merged_into_id": thread.merged_into_id}
