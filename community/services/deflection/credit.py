"""Credit for deflections that held: "Helped N customers" and the answer author's bonus.

One rule for both kinds of deflection (docs/metrics.md, "Helped N customers"):

- a *confirmed* deflection is credited when its confirmation counts (``credit_confirmation``,
  called by ``confirming.confirm``);
- an *inferred* deflection is credited once its session has ended without a contact
  (``settle_inferred``: ``flask deflection credit`` from cron, and after requests when due):
  ``outcomes.classify`` says it is inferred (its window elapsed), and the session has had no
  activity for more than ``DEFLECTION_SESSION_MINUTES`` (``ask_sessions.open_since``, the one
  boundary: exactly that long idle, a page opened now still continues it).  A later confirmation of the same session
  replaces that credit; a later opening (a page left open) moves it to the thread opened last.

A credit names the thread and, when it has one, its accepted answer's author, who gets
``deflection_helped`` points (``REPUTATION_POINTS``, default +2) under the daily cap, never for
the author's own sessions (the session's user, or a visitor cookie the author has used signed
in).  Exclusions first: no script beacon (while ``DEFLECTION_EXCLUDE_AUTOMATED``), the holdout
arm, and beyond ``DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR`` credits of the same kind from
one address in one clock hour: an excluded deflection credits nothing.  A contact by the same
visitor within the attribution window after the deflection marks the credit failed and
reverses the bonus.  ``credit_confirmation`` and ``fail_after_contact``: callers commit;
``settle_inferred`` is a job and commits after each session.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from ...extensions import db, write_intent
from ...models import AskEvent, AskSession, DeflectionCredit, Post, ReputationEvent, Thread, User, utcnow
from ...models.metrics import CONTACT_KINDS
from ..forum import reputation
from ..learning import evidence
from ..locking import advisory, lock, lock_users
from . import ask_sessions
from .outcomes import SessionFacts, classify, fails

REASON = "deflection_helped"


def _source(session_id: str) -> str:
    return f"deflection:{session_id}"


def _excluded(session: AskSession, at: datetime, kind: str = "confirmed") -> str | None:
    """Why this deflection credits nothing (the metrics' exclusions, known when it is credited), or None."""
    config = current_app.config
    if config["DEFLECTION_EXCLUDE_AUTOMATED"] and session.beacon_at is None:
        return "no_script"
    if session.arm != "suggestions":
        return "holdout"
    cap = config["DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR"]
    if not cap or session.address_key is None:
        return None
    # Confirmations from one address at once (each of its own session) would each count the
    # others' uncommitted credits as absent and all be credited past the cap.
    advisory(f"deflection-address-cap:{session.address_key}")
    hour = at.replace(minute=0, second=0, microsecond=0)
    earlier = db.session.execute(
        select(func.count()).select_from(DeflectionCredit).join(AskSession, AskSession.id == DeflectionCredit.session_id)
        .where(AskSession.address_key == session.address_key, DeflectionCredit.kind == kind,
               DeflectionCredit.created_at >= hour,
               DeflectionCredit.created_at < hour + timedelta(hours=1))).scalar_one()
    return "address_cap" if earlier >= cap else None


def _authors_own(session: AskSession, author_id: int) -> bool:
    if session.user_id == author_id:
        return True
    return db.session.execute(
        select(AskSession.id).where(AskSession.visitor_id == session.visitor_id,
                                    AskSession.user_id == author_id).limit(1)).first() is not None


def _lock_visitor(visitor_id: str, user_id: int | None) -> None:
    """Serialize crediting and failing for one visitor (cookie and account), names in sorted order:
    a contact committed while an inferred credit was being written would otherwise miss it."""
    names = [f"deflection-credit:v:{visitor_id}"] + ([f"deflection-credit:u:{user_id}"] if user_id else [])
    for name in sorted(names):
        advisory(name)


def _credit(session: AskSession, thread: Thread, at: datetime, *, kind: str,
            replacing: DeflectionCredit | None = None, failed_at: datetime | None = None) -> DeflectionCredit:
    """Write the credit (and the bonus unless it failed already or is the author's own session);
    ``replacing`` is the session's earlier inferred credit, withdrawn first."""
    answer = db.session.get(Post, thread.accepted_post_id) if thread.accepted_post_id else None
    author_id = answer.author_id if answer is not None else None
    # Before the credit's row, whose foreign key share-locks the author's: two confirmations
    # at once each holding that share lock and waiting for the other's to award the bonus
    # (``reputation.award`` locks the user for the daily cap) were a deadlock.  Both authors at
    # once, in id order, when an earlier credit's bonus is taken back.
    lock_users(author_id, replacing.author_id if replacing is not None else None)
    if replacing is not None:
        _withdraw(replacing)
    credit = DeflectionCredit(session_id=session.id, thread_id=thread.id, visitor_id=session.visitor_id,
                              user_id=session.user_id, created_at=at, kind=kind, failed_at=failed_at,
                              post_id=answer.id if answer else None, author_id=author_id)
    db.session.add(credit)
    db.session.flush()
    if author_id and failed_at is None and not _authors_own(session, author_id):
        reputation.award(author_id, REASON, post_id=answer.id, thread_id=thread.id,
                         source=_source(session.id))
    return credit


def _withdraw(credit: DeflectionCredit) -> None:
    """Take an inferred credit back (its session was confirmed, or opened another thread later)."""
    reputation.reverse_where(ReputationEvent.reason == REASON, ReputationEvent.source == _source(credit.session_id))
    db.session.delete(credit)
    db.session.flush()


def _existing(session_id: str) -> DeflectionCredit | None:
    return db.session.execute(select(DeflectionCredit).where(DeflectionCredit.session_id == session_id)).scalar()


def credit_confirmation(session: AskSession, thread: Thread, at: datetime) -> DeflectionCredit | None:
    """Credit the thread (and its accepted answer's author) for the session's counted confirmation.

    Under the visitor's locks, as the inferred credits and ``fail_after_contact``: a contact
    committed while this credit was being written found no credit to fail, so a contact of theirs
    committed since ``at`` is read here and the credit written failed, with no bonus."""
    _lock_visitor(session.visitor_id, session.user_id)
    if _excluded(session, at, "confirmed"):
        return None
    earlier = _existing(session.id)   # an inferred credit: the session is confirmed now
    credit = _credit(session, thread, at, kind="confirmed", replacing=earlier,
                     failed_at=_first_contact_after(session, at))
    evidence.record_confirmation(session, thread, at)  # the words typed now ask for this thread
    return credit


# -- inferred deflections ---------------------------------------------------------------

def _window() -> timedelta:
    return timedelta(days=current_app.config["DEFLECTION_WINDOW_DAYS"])


def _facts(session: AskSession) -> SessionFacts:
    facts = SessionFacts(id=session.id, started_at=session.started_at, visitor_id=session.visitor_id,
                         user_id=session.user_id, page=session.page, arm=session.arm,
                         address_key=session.address_key, beacon_at=session.beacon_at)
    for row in db.session.execute(
            select(AskEvent.kind, AskEvent.created_at, AskEvent.thread_id, AskEvent.idea_id,
                   AskEvent.result_count, AskEvent.article_id).where(AskEvent.session_id == session.id)):
        facts.add(row.kind, row.created_at, row.thread_id, row.idea_id, row.result_count, row.article_id)
    return facts


def _first_contact_after(session: AskSession, at: datetime) -> datetime | None:
    """The visitor's first contact that fails a deflection made at ``at``: the metrics' rule,
    ``outcomes.fails`` (the query only narrows the rows it is asked about).  Every contact
    committed so far counts, not only those before the job's ``now``: a run reads its clock once,
    then may wait for locks or judge other sessions first, and a contact committed meanwhile had
    found no credit to fail (the job then wrote it as held)."""
    same_visitor = AskSession.visitor_id == session.visitor_id
    if session.user_id:
        same_visitor = or_(same_visitor, AskSession.user_id == session.user_id)
    window = _window()
    contacts = db.session.execute(
        select(AskEvent.created_at).join(AskSession, AskSession.id == AskEvent.session_id)
        .where(same_visitor, AskEvent.kind.in_(CONTACT_KINDS), AskEvent.created_at >= at,
               AskEvent.created_at <= at + window)).scalars()
    return min((contact for contact in contacts if fails(at, contact, window)), default=None)


def credit_inferred(session_id: str, now: datetime) -> str:
    """Judge one session for an inferred credit, under its row's lock; says what was done.

    ``pending`` (its window has not elapsed, or it is still active: looked at again later),
    ``none`` (not an inferred deflection, or it credits an article or nothing), ``kept`` (its
    credit stands), ``excluded``, ``hidden`` (the thread is no longer visible), ``credited``,
    ``failed`` (credited, but its visitor has contacted since: no bonus).
    """
    session = lock(AskSession, session_id)   # confirmations and other runs of the job wait here
    if session is None:
        return "none"
    _lock_visitor(session.visitor_id, session.user_id)
    db.session.refresh(session)   # SQLite: read again now that the write lock is held
    minutes = float(current_app.config["DEFLECTION_INFERRED_MINUTES"])
    outcome = classify(_facts(session), now=now, window=timedelta(minutes=minutes))
    ended = session.last_activity_at < ask_sessions.open_since(now)
    if outcome.pending or not ended:
        return "pending"
    session.credit_settled_at = now
    existing = _existing(session.id)
    if not outcome.inferred or outcome.credited_thread_id is None:
        return "none"
    if existing is not None and (existing.kind == "confirmed" or existing.failed_at is not None):
        return "kept"
    if existing is not None and existing.thread_id == outcome.credited_thread_id:
        existing.created_at = outcome.at    # the same thread, opened again later
        return "kept"
    thread = db.session.get(Thread, outcome.credited_thread_id)
    if thread is None or not thread.visible:
        return "hidden"
    if _excluded(session, outcome.at, "inferred"):
        return "excluded"
    failed_at = _first_contact_after(session, outcome.at)
    _credit(session, thread, outcome.at, kind="inferred", replacing=existing, failed_at=failed_at)
    return "failed" if failed_at else "credited"


def inferred_candidates(now: datetime, *, after: tuple | None = None, limit: int = 200) -> list[tuple]:
    """``(last_activity_at, id)`` of the sessions to judge, in that order after ``after``: sessions
    not confirmed that opened a thread, ended at least
    ``DEFLECTION_SESSION_MINUTES`` ago and at most ``DEFLECTION_WINDOW_DAYS`` ago, and not judged
    final since their last activity."""
    ended = ask_sessions.open_since(now)
    opened = (select(AskEvent.id).where(AskEvent.session_id == AskSession.id, AskEvent.kind == "suggestion_opened",
                                        AskEvent.thread_id.is_not(None)).exists())
    stmt = (select(AskSession.last_activity_at, AskSession.id)
            .where(AskSession.confirmed_at.is_(None),
                   AskSession.last_activity_at < ended, AskSession.last_activity_at >= now - _window(),
                   or_(AskSession.credit_settled_at.is_(None),
                       AskSession.credit_settled_at < AskSession.last_activity_at), opened)
            .order_by(AskSession.last_activity_at, AskSession.id).limit(limit))
    if after is not None:
        stmt = stmt.where(or_(AskSession.last_activity_at > after[0],
                              (AskSession.last_activity_at == after[0]) & (AskSession.id > after[1])))
    return [tuple(row) for row in db.session.execute(stmt)]


def settle_inferred(now: datetime | None = None, *, most: int | None = None, page: int = 200) -> Counter:
    """Credit every inferred deflection that has become creditable (``credit_inferred`` on each
    candidate, oldest activity first); commits after each session, so that no lock is held longer
    than one session's judgement.  Safe to run in several processes at once: each session's row
    lock (SQLite: the write lock) makes a second run see the first one's credit.  ``most``: stop
    after that many sessions (the after-request run).  Returns what was done, by outcome."""
    now = now or utcnow()
    done: Counter = Counter()
    after = None
    while most is None or sum(done.values()) < most:
        batch = inferred_candidates(now, after=after, limit=page)
        db.session.rollback()   # end the read: each session is judged in its own transaction
        if not batch:
            break
        for after in batch[: None if most is None else most - sum(done.values())]:
            try:
                done[credit_inferred(after[1], now)] += 1
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
    return done


def every_seconds(app) -> int:
    """How often each process runs ``settle_inferred`` after a request (0: never; default 300,
    off under ``TESTING`` unless set)."""
    every = app.config.get("DEFLECTION_CREDIT_EVERY_SECONDS")
    if every is None:
        return 0 if app.testing else 300
    return int(every)


def init_app(app) -> None:
    """After a request, when ``DEFLECTION_CREDIT_EVERY_SECONDS`` have passed in this process, settle
    up to ``DEFLECTION_CREDIT_AFTER_REQUEST`` sessions (the cron job does the rest): the credit
    of a site without cron still arrives.  One thread per process at a time."""
    import threading

    state = {"due": None, "lock": threading.Lock()}
    app.extensions["deflection_credit"] = state

    @app.teardown_request
    def _settle_when_due(error=None):
        every = every_seconds(app)
        if error is not None or not every or (state["due"] is not None and utcnow() < state["due"]):
            return
        if not state["lock"].acquire(blocking=False):
            return
        try:
            state["due"] = utcnow() + timedelta(seconds=every)
            db.session.rollback()   # the request's own work is committed (or was never to be)
            with write_intent():
                settle_inferred(most=int(app.config.get("DEFLECTION_CREDIT_AFTER_REQUEST", 200)))
        except Exception:  # noqa: BLE001 - the page is answered; the job tries again when due
            db.session.rollback()
            app.logger.exception("crediting inferred deflections after a request failed")
        finally:
            state["lock"].release()


def fail_after_contact(session: AskSession, at: datetime) -> int:
    """The visitor contacted support or posted a question: credits of theirs (confirmed or inferred)
    made within the attribution window before ``at`` failed; their bonuses are reversed.  Returns how many."""
    _lock_visitor(session.visitor_id, session.user_id)
    window = _window()
    same_visitor = DeflectionCredit.visitor_id == session.visitor_id
    if session.user_id:
        same_visitor = or_(same_visitor, DeflectionCredit.user_id == session.user_id)
    candidates = db.session.execute(
        select(DeflectionCredit.id, DeflectionCredit.session_id, DeflectionCredit.created_at)
        .where(same_visitor, DeflectionCredit.failed_at.is_(None),
               DeflectionCredit.created_at <= at, DeflectionCredit.created_at >= at - window)).all()
    failed = 0
    for credit_id, session_id, credited_at in candidates:
        if not fails(credited_at, at, window):   # the metrics' rule; the query only narrows the rows
            continue
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
