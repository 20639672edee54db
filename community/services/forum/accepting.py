"""Accepted answers: accept, change, withdraw, with their reputation.

Rules: the answer's author gets +15 and the asker +2, except that nobody
earns anything for an answer the asker (or the accepting moderator) wrote.  When a moderator
accepts on the asker's behalf, the +2 still goes to the asker.  Changing or
withdrawing reverses exactly the rows of the previous accept.  Race-safe:
the thread row is locked and re-read first, so the same accept sent many
times at once awards once.  An accept by someone other than the asker (a moderator) is
recorded in the audit log.  Callers check ``permissions.can_accept`` and commit.
"""
from __future__ import annotations

from ...extensions import db
from ...models import Post, ReputationEvent, Thread, User, utcnow
from ...urls import thread_url
from .. import fanout
from ..learning import judgments
from ..errors import NotFound, ValidationError
from ..locking import lock, lock_users
from . import reputation

ACCEPT_REASONS = ("answer_accepted", "accepted_answer")


def accept(actor: User, thread: Thread, post: Post | None) -> Thread:
    """Make ``post`` the accepted answer of ``thread`` (``None`` withdraws)."""
    if post is None:
        return withdraw_accept(actor, thread)
    _lock(thread)
    lock(Post, post.id)
    if post.thread_id != thread.id or post.is_question:
        raise ValidationError("Choose an answer in this thread.", field="post_id")
    if post.deleted or post.hidden:
        raise ValidationError("A hidden or deleted answer cannot be accepted.", field="post_id")
    if thread.accepted_post_id == post.id:
        return thread
    previous = db.session.get(Post, thread.accepted_post_id) if thread.accepted_post_id else None
    lock_users(thread.author_id, post.author_id, previous.author_id if previous else None)
    if thread.accepted_post_id is not None:
        _reverse_accept(thread, actor)
    if actor.id != thread.author_id:      # a moderator on the asker's behalf
        from ..moderation import audit

        audit.record(actor, "thread.accept", "thread", thread.id, before={"accepted_post_id": thread.accepted_post_id},
                     after={"accepted_post_id": post.id}, note="accepted on the asker's behalf")
    thread.accepted_post_id = post.id
    # ``solved_at`` is the first acceptance: switching to another answer does not move
    # it; withdrawing clears it (docs/metrics.md, "time to accepted answer").
    if thread.solved_at is None:
        thread.solved_at = utcnow()
    # Nobody earns anything for accepting their own answer: not the asker,
    # and not a moderator accepting an answer they wrote on someone's thread.
    if post.author_id not in (thread.author_id, actor.id):
        common = dict(post_id=post.id, thread_id=thread.id, actor_id=actor.id)
        reputation.award(post.author_id, "answer_accepted", **common)
        reputation.award(thread.author_id, "accepted_answer", **common)
    fanout.notify_later(post.author_id, "accepted",
                         f"Your answer to “{thread.title}” was accepted",
                         thread_url(thread, post.id), actor_id=actor.id,
                         thread_id=thread.id, post_id=post.id)
    db.session.flush()
    judgments.record_accepted(thread)  # an answer linking elsewhere: the title asks for that thread
    return thread


def withdraw_accept(actor: User, thread: Thread) -> Thread:
    """Withdraw the thread's accept (if any), reversing its rows."""
    lock(Thread, thread.id)
    if thread.accepted_post_id is None:
        return thread
    previous = db.session.get(Post, thread.accepted_post_id)
    lock_users(thread.author_id, previous.author_id if previous else None)
    _reverse_accept(thread, actor)
    thread.accepted_post_id = None
    thread.solved_at = None
    db.session.flush()
    judgments.record_accepted(thread)
    return thread


def _reverse_accept(thread: Thread, actor: User) -> None:
    reputation.reverse_where(
        ReputationEvent.post_id == thread.accepted_post_id,
        ReputationEvent.reason.in_(ACCEPT_REASONS),
        actor_id=actor.id,
    )


def _lock(thread: Thread) -> None:
    if lock(Thread, thread.id) is None or thread.deleted:
        raise NotFound("No such thread.")
