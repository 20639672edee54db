"""Votes on posts and the reputation they move.

``set_vote`` is idempotent: setting the value you already have changes
nothing, 0 withdraws, the other value switches.  Every change first reverses
the ledger rows of the previous value, then writes the new ones, so the
ledger always reflects exactly the votes that stand.  Race-safe: the
thread, the post and the users whose reputation moves are locked first
(``services/locking.py``), so the same vote sent many times at once is
applied once.  Callers check ``permissions.vote_refusal`` and commit.
"""
from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import Post, ReputationEvent, Thread, User, Vote, utcnow
from ..errors import NotFound, ValidationError
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


def set_vote(voter: User, post: Post, value) -> int:
    """Set ``voter``'s vote on ``post`` to ``value`` (1, -1 or 0); returns the post's score."""
    if value not in (1, -1, 0) or isinstance(value, bool):
        raise ValidationError("value must be 1, -1 or 0.", field="value")
    lock(Thread, post.thread_id)
    if lock(Post, post.id) is None or post.deleted:
        raise NotFound("No such post.")
    lock_users(post.author_id, voter.id)
    vote = db.session.execute(
        select(Vote).where(Vote.user_id == voter.id, Vote.post_id == post.id)
        .execution_options(populate_existing=True)
    ).scalar()
    previous = vote.value if vote else 0
    if previous == value:
        return post.score
    if vote is None:
        vote = Vote(post_id=post.id, user_id=voter.id, value=0)
        db.session.add(vote)
        db.session.flush()
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
    return db.session.execute(select(Post.score).where(Post.id == post.id)).scalar_one()


def _award_for(vote: Vote, post: Post, voter: User) -> None:
    common = dict(vote_id=vote.id, post_id=post.id, thread_id=post.thread_id, actor_id=voter.id)
    if vote.value == 1:
        reason = "question_upvoted" if post.is_question else "answer_upvoted"
        reputation.award(post.author_id, reason, **common)
    elif vote.value == -1:
        reputation.award(post.author_id, "post_downvoted", **common)
        if not post.is_question:
            reputation.award(voter.id, "downvote_cast", **common)
