"""Vote budgets (``IDEA_VOTE_BUDGET``, off by default): each member holds N active votes.

An *active* vote is a standing vote on an open idea that the member cast
themselves (``merged_from_id IS NULL``).  So a vote comes back when its idea
is delivered or declined (the idea is no longer open) or merged away (the
moved vote keeps counting on the target as demand, but no longer against
the member's budget).

Enforced under concurrency: the vote row is inserted first, then the
member's active votes are counted in the same transaction and the vote is
refused (409, rolled back by the caller) if that exceeds the budget.  On
PostgreSQL the member's ``users`` row is locked first (``FOR NO KEY UPDATE``,
``locking.lock_users``), so two parallel votes by one member count one after
the other; SQLite holds its single write lock from the INSERT to the commit,
which serialises them.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from ...extensions import db
from ...models import Idea, IdeaVote
from ...models.ideas import OPEN_STATUSES
from ..errors import Conflict
from ..locking import lock_users


def budget() -> int | None:
    """The configured budget, or None when votes are unlimited."""
    value = current_app.config.get("IDEA_VOTE_BUDGET")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def active_votes(user_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(IdeaVote).join(Idea, Idea.id == IdeaVote.idea_id)
        .where(IdeaVote.user_id == user_id, IdeaVote.merged_from_id.is_(None),
               Idea.status.in_(OPEN_STATUSES))
    ).scalar_one()


def votes_left(user) -> int | None:
    """How many votes ``user`` may still cast (None: no budget, or not logged in)."""
    limit = budget()
    if limit is None or user is None or not getattr(user, "is_authenticated", False):
        return None
    return max(limit - active_votes(user.id), 0)


def lock_voter(user_id: int, author_id: int | None = None) -> None:
    """Serialise one member's votes (PostgreSQL row lock), with the idea's author whose reputation
    the vote moves: both in one statement, in id order (``locking.lock_users``)."""
    if budget() is not None:
        lock_users(user_id, author_id)


def check(user_id: int) -> None:
    """After inserting a vote: refuse it if the member now holds more than the budget."""
    limit = budget()
    if limit is not None and active_votes(user_id) > limit:
        raise Conflict(f"You have used all {limit} of your votes: withdraw one to vote for this idea. "
                       "Votes come back when an idea is delivered, declined or merged.",
                       code="vote_budget", field="value")
