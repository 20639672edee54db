"""Votes on posts and the reputation they move.

``set_vote`` is idempotent: setting the value you already have changes
nothing, 0 withdraws, the other value switches.  Every change first reverses
the ledger rows of the previous value, then writes the new ones, so the
ledger always reflects exactly the votes that stand.  Race-safe: the
thread, the post and the users whose reputation moves are locked first
(``services/locking.py``), so the same vote sent many times at once is
applied once.  Callers check ``permissions.vote_refusal`` and commit; passing it as
``refusal`` asks it again once the rows are locked and re-read, for a caller that read them
before the lock (``extensions.locks_late``).
"""
from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import Post, ReputationEvent, Thread, User, Vote, utcnow
from ..errors import NotFound, PermissionDenied, ValidationError
from ..locking import lock, lock_users
from . import reputation


def votes_by_user(user_id: int, post_ids) -> dict[int, int]:
    """The user's standing votes on these posts, in one query (for thread pages)."""
    if not post_ids:
        return {}
    rows = db.session.execute(
        select(Vote.post_id, Vote.value).where(Vote.user_id == user_id,
                                               Vote.post_id.in_(list(post_ids)), Vote.value != 0)
    )
    return dict(rows.all())


def set_vote(voter: User, post: Post, value, *, refusal=None) -> int:
    """Set ``voter``'s vote on ``post`` to ``value`` (1, -1 or 0); returns the post's score.

    ``refusal(voter, post, value)``: a message when the vote is not allowed, asked of the rows as
    locked (the voter suspended, the post hidden, the reputation gone since the caller read them).
    Only a question's vote locks its thread: an answer's vote writes nothing there, so votes on
    different answers of one thread do not wait for each other."""
    if value not in (1, -1, 0) or isinstance(value, bool):
        raise ValidationError("value must be 1, -1 or 0.", field="value")
    if post.is_question:
        lock(Thread, post.thread_id)
    if lock(Post, post.id) is None or post.deleted:
        raise NotFound("No such post.")
    lock_users(post.author_id, voter.id, refresh=refusal is not None)
    reason = refusal(voter, post, value) if refusal is not None else None
    if reason:
        raise PermissionDenied(reason)
    vote = db.session.execute(
        select(Vote).where(Vote.user_id == voter.id, Vote.post_id == post.id)
        .execution_options(populate_existing=True)
    ).scalar()
    previous = vote.value if vote else 0
    score = post.score   # as locked and re-read: nobody else writes it before the commit
    if previous == value:
        return score
    if vote is None:   # written with its value at once: its id is what the ledger rows need
        vote = Vote(post_id=post.id, user_id=voter.id, value=value)
        db.session.add(vote)
        db.session.flush()
    else:
        if previous:   # a vote at 0 has no open ledger rows (``flask check``'s vote_ledger rule)
            reputation.reverse_where(ReputationEvent.vote_id == vote.id, actor_id=voter.id)
        vote.value = value
        vote.updated_at = utcnow()
    delta = value - previous
    post.score = Post.score + delta
    if post.is_question:
        thread = post.thread
        thread.score = Thread.score + delta
    _award_for(vote, post, voter)
    db.session.flush()
    return score + delta


def _award_for(vote: Vote, post: Post, voter: User) -> None:
    common = dict(vote_id=vote.id, post_id=post.id, thread_id=post.thread_id, actor_id=voter.id)
    if vote.value == 1:
        reason = "question_upvoted" if post.is_question else "answer_upvoted"
        reputation.award(post.author_id, reason, **common)
    elif vote.value == -1:
        reputation.award(post.author_id, "post_downvoted", **common)
        if not post.is_question:
            reputation.award(voter.id, "downvote_cast", **common)
