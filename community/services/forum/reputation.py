"""The reputation ledger: awarding, reversing, capping and recomputing.

Point values and the daily cap live in configuration.  Callers commit.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import ReputationEvent, User, utcnow
from ..locking import lock_users


def points_for(reason: str) -> int:
    return current_app.config["REPUTATION_POINTS"][reason]


def _gained_on(user_id: int, day) -> int:
    stmt = select(func.coalesce(func.sum(ReputationEvent.points), 0)).where(
        ReputationEvent.user_id == user_id, ReputationEvent.cap_day == day
    )
    return db.session.execute(stmt).scalar_one()


def award(user_id: int, reason: str, *, points: int | None = None, actor_id=None,
          post_id=None, thread_id=None, vote_id=None, source=None) -> ReputationEvent:
    """Write one ledger row for ``reason`` and update the user's running sum.

    Positive points of capped reasons are trimmed to what is left under the
    daily cap (possibly to 0; the row is still written so that its reversal
    is exact).  Penalties are never capped.  The user's row is locked before
    the day's sum is read, so concurrent awards cannot both fill the same room.
    """
    requested = points_for(reason) if points is None else points
    cap_day = None
    granted = requested
    if reason in current_app.config["REPUTATION_CAPPED_REASONS"] and requested > 0:
        lock_users(user_id)
        cap_day = utcnow().date()
        room = current_app.config["REPUTATION_DAILY_CAP"] - _gained_on(user_id, cap_day)
        granted = max(0, min(requested, room))
    event = ReputationEvent(
        user_id=user_id, points=granted, requested_points=requested, reason=reason,
        actor_id=actor_id, post_id=post_id, thread_id=thread_id, vote_id=vote_id,
        source=source, cap_day=cap_day,
    )
    db.session.add(event)
    _bump(user_id, granted)
    return event


def reverse(event: ReputationEvent, actor_id: int | None = None) -> ReputationEvent:
    """Cancel exactly what ``event`` granted, with a reversing row."""
    reversal = ReputationEvent(
        user_id=event.user_id, points=-event.points, requested_points=-event.requested_points,
        reason=event.reason, actor_id=actor_id, post_id=event.post_id,
        thread_id=event.thread_id, vote_id=event.vote_id, source=event.source,
        cap_day=event.cap_day, reversal_of_id=event.id,
    )
    db.session.add(reversal)
    _bump(event.user_id, -event.points)
    return reversal


_REVERSAL = []


def _reversal():
    """The reversing row's alias, built once: building it (and its join condition) took a third
    of a vote's ledger work (pyinstrument, bench/write_profile.py)."""
    if not _REVERSAL:
        _REVERSAL.append(aliased(ReputationEvent, name="reversal"))
    return _REVERSAL[0]


def open_events(*criteria) -> list[ReputationEvent]:
    """Ledger rows matching ``criteria`` that are not reversals and not yet reversed."""
    reversal = _reversal()
    db.session.flush()
    stmt = (
        select(ReputationEvent)
        .outerjoin(reversal, reversal.reversal_of_id == ReputationEvent.id)
        .where(ReputationEvent.reversal_of_id.is_(None), reversal.id.is_(None), *criteria)
        .order_by(ReputationEvent.id)
    )
    return list(db.session.execute(stmt).scalars())


def reverse_where(*criteria, actor_id: int | None = None) -> int:
    """Reverse every open row matching ``criteria``; returns how many."""
    events = open_events(*criteria)
    for event in events:
        reverse(event, actor_id=actor_id)
    return len(events)


def _bump(user_id: int, points: int) -> None:
    if points:
        db.session.execute(
            update(User).where(User.id == user_id)
            .values(reputation_points=User.reputation_points + points)
            .execution_options(synchronize_session=False)
        )
        loaded = db.session.identity_map.get(db.session.identity_key(User, user_id))
        if loaded is not None:
            db.session.expire(loaded, ["reputation_points"])


def recompute_all() -> int:
    """Rebuild every user's running sum from the ledger; returns users changed."""
    sums = dict(db.session.execute(
        select(ReputationEvent.user_id, func.coalesce(func.sum(ReputationEvent.points), 0))
        .group_by(ReputationEvent.user_id)
    ).all())
    changed = 0
    for user_id, current in db.session.execute(select(User.id, User.reputation_points)).all():
        expected = int(sums.get(user_id, 0))
        if current != expected:
            db.session.execute(
                update(User).where(User.id == user_id).values(reputation_points=expected)
                .execution_options(synchronize_session=False)
            )
            changed += 1
    db.session.expire_all()
    return changed


def rank_for(reputation: int) -> str:
    name = current_app.config["RANKS"][0][1]
    for threshold, rank in current_app.config["RANKS"]:
        if reputation >= threshold:
            name = rank
    return name


def next_rank(reputation: int) -> tuple[int, str] | None:
    for threshold, rank in current_app.config["RANKS"]:
        if reputation < threshold:
            return threshold, rank
    return None


def history(user_id: int, limit: int = 50):
    stmt = (select(ReputationEvent).where(ReputationEvent.user_id == user_id)
            .order_by(ReputationEvent.created_at.desc(), ReputationEvent.id.desc()).limit(limit))
    return list(db.session.execute(stmt).scalars())
