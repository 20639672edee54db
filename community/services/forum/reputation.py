"""The reputation ledger: awarding, reversing, capping and recomputing.

Point values and the daily cap live in configuration.  Callers commit.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import DateTime, Integer, case, func, insert, literal, select, update
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import ReputationEvent, User, utcnow
from ..locking import held_cap, lock_users


def points_for(reason: str) -> int:
    return current_app.config["REPUTATION_POINTS"][reason]


def _gained_on(user_id: int, day) -> int:
    """Points the user gained under the cap on ``day``: their counter, as read with their lock
    (``lock_users``), when it is of that day; 0 when it is of an earlier day (no row of ``day``
    exists yet); the day's rows summed only when the counter is of a later day (another server's
    clock already past midnight)."""
    counter_day, points = held_cap(user_id)
    if counter_day == day:
        return points
    if counter_day is None or counter_day < day:
        return 0
    return db.session.execute(select(func.coalesce(func.sum(ReputationEvent.points), 0)).where(
        ReputationEvent.user_id == user_id, ReputationEvent.cap_day == day)).scalar_one()


def award(user_id: int, reason: str, *, points: int | None = None, actor_id=None,
          post_id=None, thread_id=None, vote_id=None, source=None) -> ReputationEvent:
    """Write one ledger row for ``reason`` and update the user's running sum.

    Positive points of capped reasons are trimmed to what is left under the
    daily cap (possibly to 0; the row is still written so that its reversal
    is exact).  Penalties are never capped.  The user's row is locked before
    the day's counter is read, so concurrent awards cannot both fill the same room.
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
    _bump(user_id, granted, cap_day)
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
    _bump(event.user_id, -event.points, event.cap_day)
    return reversal


_REVERSAL = []


def _reversal():
    """The reversing row's alias, built once: building it (and its join condition) took a third
    of a vote's ledger work (pyinstrument, bench/write_profile.py)."""
    if not _REVERSAL:
        _REVERSAL.append(aliased(ReputationEvent, name="reversal"))
    return _REVERSAL[0]


def _open(stmt, *criteria):
    """``stmt`` narrowed to the ledger rows matching ``criteria`` that are not reversals and not
    yet reversed (the one rule for "open", read by ``open_events`` and ``reverse_where``)."""
    reversal = _reversal()
    return (stmt.outerjoin(reversal, reversal.reversal_of_id == ReputationEvent.id)
            .where(ReputationEvent.reversal_of_id.is_(None), reversal.id.is_(None), *criteria)
            .order_by(ReputationEvent.id))


def open_events(*criteria) -> list[ReputationEvent]:
    """Ledger rows matching ``criteria`` that are not reversals and not yet reversed."""
    db.session.flush()
    return list(db.session.execute(_open(select(ReputationEvent), *criteria)).scalars())


#: What a reversal copies from the row it cancels (``points`` and ``requested_points`` negated).
_COPIED = ("user_id", "reason", "post_id", "thread_id", "vote_id", "source", "cap_day")


def reverse_where(*criteria, actor_id: int | None = None) -> int:
    """Reverse every open row matching ``criteria`` (as ``reverse`` does each); returns how many.

    One ``INSERT ... SELECT ... RETURNING`` writes the reversals (reading the open rows, then
    writing a row for each, was two statements and an ORM object per row, under the writer's
    locks: a vote's withdrawal); then each user's total and counter move once a row."""
    db.session.flush()
    e = ReputationEvent
    rows = _open(select(*(getattr(e, c) for c in _COPIED), -e.points, -e.requested_points, e.id,
                        literal(actor_id, Integer), literal(utcnow(), DateTime)), *criteria)
    stmt = (insert(e).from_select([*_COPIED, "points", "requested_points", "reversal_of_id", "actor_id",
                                   "created_at"], rows)
            .returning(e.user_id, e.points, e.cap_day))
    written = db.session.execute(stmt).all()
    moves: dict[tuple, int] = {}
    for user_id, points, cap_day in written:
        moves[(user_id, cap_day)] = moves.get((user_id, cap_day), 0) + points
    for (user_id, cap_day), points in moves.items():
        _bump(user_id, points, cap_day)
    return len(written)


def _bump(user_id: int, points: int, cap_day=None) -> None:
    """Add ``points`` to the user's total and, for a row counted on ``cap_day``, to the daily cap's
    counter: a row of the counter's day adds to it, a row of a later day starts it again, a row of
    an earlier day (a reversal of yesterday's vote) leaves it.  One statement."""
    values = {}
    if points:
        values["reputation_points"] = User.reputation_points + points
    held = held_cap(user_id) if cap_day is not None else None
    if cap_day is not None and (points or held is None or held[0] is None or held[0] < cap_day):
        values["cap_points"] = case((User.cap_day == cap_day, User.cap_points + points),
                                    (User.cap_day > cap_day, User.cap_points), else_=points)
        values["cap_day"] = case((User.cap_day > cap_day, User.cap_day), else_=cap_day)
        if held is not None and (held[0] is None or held[0] <= cap_day):
            held[:] = [cap_day, held[1] + points if held[0] == cap_day else points]
    if values:
        db.session.execute(update(User).where(User.id == user_id).values(**values)
                           .execution_options(synchronize_session=False))
        loaded = db.session.identity_map.get(db.session.identity_key(User, user_id))
        if loaded is not None:
            db.session.expire(loaded, ["reputation_points", "cap_day", "cap_points"])


def cap_counter_drift() -> list[tuple[int, tuple, tuple]]:
    """``(user id, (day, points) wanted, (day, points) stored)`` for every user whose daily cap
    counter is not what the ledger gives: their latest ``cap_day`` and the sum of its rows (no
    capped row: no day, 0)."""
    days = (select(ReputationEvent.user_id, func.max(ReputationEvent.cap_day).label("day"))
            .where(ReputationEvent.cap_day.is_not(None)).group_by(ReputationEvent.user_id).subquery())
    wanted = {uid: (day, int(total)) for uid, day, total in db.session.execute(
        select(ReputationEvent.user_id, ReputationEvent.cap_day, func.sum(ReputationEvent.points))
        .join(days, (days.c.user_id == ReputationEvent.user_id) & (days.c.day == ReputationEvent.cap_day))
        .group_by(ReputationEvent.user_id, ReputationEvent.cap_day)).all()}
    return [(uid, wanted.get(uid, (None, 0)), (day, points)) for uid, day, points in
            db.session.execute(select(User.id, User.cap_day, User.cap_points).order_by(User.id)).all()
            if (day, points) != wanted.get(uid, (None, 0))]


def recompute_cap_counters() -> int:
    """Every drifted daily cap counter set from the ledger (``cap_counter_drift``); returns how many."""
    drifted = cap_counter_drift()
    for user_id, (day, points), _ in drifted:
        db.session.execute(update(User).where(User.id == user_id).values(cap_day=day, cap_points=points)
                           .execution_options(synchronize_session=False))
    db.session.expire_all()
    return len(drifted)


def recompute_all() -> int:
    """Rebuild every user's running sum (and daily cap counter) from the ledger; returns the users
    whose sum changed."""
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
    recompute_cap_counters()
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
