"""Credit for confirmed deflections: "Helped N customers" and the answer author's bonus.

A counted confirmation credits the thread and, when it has one, its accepted answer's
author: ``deflection_helped`` points (``REPUTATION_POINTS``, default +2), under the
daily cap, never for the author's own sessions (the session's user, or a visitor
cookie the author has used signed in).  The exclusions of the metrics apply first
(``outcomes.mark_exclusions``: no script beacon, beyond the hourly cap of one address):
an excluded confirmation credits nothing.  A later contact by the same visitor within
the attribution window marks the credit failed and reverses the bonus.  Callers commit.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from ...extensions import db
from ...models import AskSession, DeflectionCredit, Post, ReputationEvent, Thread, User
from ..forum import reputation
from ..learning import evidence
from ..locking import advisory, lock_users

REASON = "deflection_helped"


def _source(session_id: str) -> str:
    return f"deflection:{session_id}"


def _excluded(session: AskSession, at: datetime) -> bool:
    """The metrics' exclusions, known when the confirmation arrives (docs/metrics.md)."""
    config = current_app.config
    if config["DEFLECTION_EXCLUDE_AUTOMATED"] and session.beacon_at is None:
        return True
    cap = config["DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR"]
    if not cap or session.address_key is None:
        return False
    # Confirmations from one address at once (each of its own session) would each count the
    # others' uncommitted credits as absent and all be credited past the cap.
    advisory(f"deflection-address-cap:{session.address_key}")
    hour = at.replace(minute=0, second=0, microsecond=0)
    earlier = db.session.execute(
        select(func.count()).select_from(DeflectionCredit).join(AskSession, AskSession.id == DeflectionCredit.session_id)
        .where(AskSession.address_key == session.address_key, DeflectionCredit.created_at >= hour,
               DeflectionCredit.created_at < hour + timedelta(hours=1))).scalar_one()
    return earlier >= cap


def _authors_own(session: AskSession, author_id: int) -> bool:
    if session.user_id == author_id:
        return True
    return db.session.execute(
        select(AskSession.id).where(AskSession.visitor_id == session.visitor_id,
                                    AskSession.user_id == author_id).limit(1)).first() is not None


def credit_confirmation(session: AskSession, thread: Thread, at: datetime) -> DeflectionCredit | None:
    """Credit the thread (and its accepted answer's author) for the session's counted confirmation."""
    if _excluded(session, at):
        return None
    answer = db.session.get(Post, thread.accepted_post_id) if thread.accepted_post_id else None
    if answer is not None and answer.author_id:
        # Before the credit's row, whose foreign key share-locks the author's: two confirmations
        # at once each holding that share lock and waiting for the other's to award the bonus
        # (``reputation.award`` locks the user for the daily cap) were a deadlock.
        lock_users(answer.author_id)
    credit = DeflectionCredit(session_id=session.id, thread_id=thread.id, visitor_id=session.visitor_id,
                              user_id=session.user_id, created_at=at,
                              post_id=answer.id if answer else None,
                              author_id=answer.author_id if answer else None)
    db.session.add(credit)
    db.session.flush()
    if answer is not None and answer.author_id and not _authors_own(session, answer.author_id):
        reputation.award(answer.author_id, REASON, post_id=answer.id, thread_id=thread.id,
                         source=_source(session.id))
    evidence.record_confirmation(session, thread, at)  # the words typed now ask for this thread
    return credit


def fail_after_contact(session: AskSession, at: datetime) -> int:
    """The visitor contacted support or posted a question: credits of theirs confirmed within
    the attribution window before ``at`` failed; their bonuses are reversed.  Returns how many."""
    window = timedelta(days=current_app.config["DEFLECTION_WINDOW_DAYS"])
    same_visitor = DeflectionCredit.visitor_id == session.visitor_id
    if session.user_id:
        same_visitor = or_(same_visitor, DeflectionCredit.user_id == session.user_id)
    candidates = db.session.execute(
        select(DeflectionCredit.id, DeflectionCredit.session_id)
        .where(same_visitor, DeflectionCredit.failed_at.is_(None),
               DeflectionCredit.created_at <= at, DeflectionCredit.created_at >= at - window)).all()
    failed = 0
    for credit_id, session_id in candidates:
        table = DeflectionCredit.__table__
        won = db.session.execute(update(table).where(table.c.id == credit_id, table.c.failed_at.is_(None))
                                 .values(failed_at=at)).rowcount
        if won:
            failed += 1
            reputation.reverse_where(ReputationEvent.reason == REASON,
                                     ReputationEvent.source == _source(session_id))
            evidence.forget_sessions([session_id])
    return failed


def helped_by_thread(thread_id: int) -> int:
    """Customers this thread helped without a support contact (credits that held)."""
    return db.session.execute(
        select(func.count()).select_from(DeflectionCredit)
        .where(DeflectionCredit.thread_id == thread_id, DeflectionCredit.failed_at.is_(None))).scalar_one()


def helped_by_author(user_id: int, *, since: datetime | None = None) -> int:
    """Customers this member's accepted answers helped without a support contact."""
    stmt = (select(func.count()).select_from(DeflectionCredit)
            .where(DeflectionCredit.author_id == user_id, DeflectionCredit.failed_at.is_(None)))
    if since is not None:
        stmt = stmt.where(DeflectionCredit.created_at >= since)
    return db.session.execute(stmt).scalar_one()


def helped_counts(user_ids) -> dict[int, int]:
    """``{user_id: customers helped}`` for a page of members, in one query."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(DeflectionCredit.author_id, func.count(DeflectionCredit.id))
        .where(DeflectionCredit.author_id.in_(ids), DeflectionCredit.failed_at.is_(None))
        .group_by(DeflectionCredit.author_id))
    return {user_id: count for user_id, count in rows}


def members_by_helped():
    """Members ranked by customers helped (then reputation): the contributors page's order."""
    helped = (select(DeflectionCredit.author_id.label("user_id"), func.count(DeflectionCredit.id).label("n"))
              .where(DeflectionCredit.failed_at.is_(None)).group_by(DeflectionCredit.author_id).subquery())
    return (select(User).outerjoin(helped, helped.c.user_id == User.id)
            .order_by(func.coalesce(helped.c.n, 0).desc(), User.reputation_points.desc(), User.id))
