"""Learned evidence: the words a visitor typed, credited to the thread that answered them.

A vote is written for:

- a **confirmed** deflection ("This solved my problem"), when it is counted
  (``deflection.credit``: not excluded as automated, not beyond the address cap),
  at once; a contact within the attribution window removes it again;
- a suggestion **opened** and followed by no contact (the metrics' *inferred*
  deflection), by :func:`rebuild_from_events` once the window has elapsed.

Never from the holdout arm, from the Contact-support page (what is typed there is
private ticket text), from excluded or failed deflections, or for a hidden thread.
One vote per distinct visitor and thread (the table's unique key): a visitor who
confirms again replaces their own words, a stronger source replaces a weaker one.
The table is derived data: ``flask search learn`` rebuilds it from the events.
Callers commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import EVIDENCE_SOURCES, AskEvent, AskSession, DuplicateLink, SearchEvidence, Thread, utcnow

#: Sources rebuilt from the ask events (duplicates come from the forum, not from events).
EVENT_SOURCES = ("confirmed", "opened")
WORDS_MAX = 200


def learns_from(session: AskSession) -> bool:
    """Whether this ask session may teach search anything (never holdout, never the contact page)."""
    return session.arm != "holdout" and session.page == "ask"


def _rank(source: str) -> int:
    return EVIDENCE_SOURCES.index(source)


def vote(thread_id: int, voter: str, source: str, words: str, at: datetime, session_id: str | None = None) -> bool:
    """Record ``voter``'s words for a thread; one row per (thread, voter), race-safe.

    A second vote of the same voter replaces the first unless it comes from a weaker
    source (an opening never overwrites a confirmation).  Returns whether a row changed.
    """
    words = " ".join((words or "").split())[:WORDS_MAX]
    if not words or source not in EVIDENCE_SOURCES:
        return False
    existing = _existing(thread_id, voter)
    if existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(SearchEvidence(thread_id=thread_id, voter=voter, source=source, words=words,
                                              session_id=session_id, created_at=at))
            return True
        except IntegrityError:  # the same voter, at the same moment, in another request
            existing = _existing(thread_id, voter)
            if existing is None:
                raise
    if _rank(source) > _rank(existing.source):
        return False
    existing.source, existing.words, existing.session_id, existing.created_at = source, words, session_id, at
    return True


def _existing(thread_id: int, voter: str) -> SearchEvidence | None:
    return db.session.execute(select(SearchEvidence).where(
        SearchEvidence.thread_id == thread_id, SearchEvidence.voter == voter)).scalar_one_or_none()


def visitor_voter(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


def words_for(session_id: str, thread_id: int, before: datetime | None = None) -> str:
    """What the visitor had typed when the thread was suggested: the last query whose results held it."""
    key = f"thread:{thread_id}"
    stmt = (select(AskEvent.query, AskEvent.result_ids)
            .where(AskEvent.session_id == session_id, AskEvent.kind == "suggestions_shown")
            .order_by(AskEvent.created_at.desc(), AskEvent.id.desc()))
    if before is not None:
        stmt = stmt.where(AskEvent.created_at <= before)
    for query, result_ids in db.session.execute(stmt):
        if query and key in (result_ids or []):
            return query
    return ""


def record_confirmation(session: AskSession, thread: Thread, at: datetime) -> bool:
    """A counted confirmation: the session's words become a vote for the thread."""
    if not learns_from(session) or not thread.visible:
        return False
    words = words_for(session.id, thread.id, at)
    return vote(thread.id, visitor_voter(session.visitor_id), "confirmed", words, at, session.id)


def forget_sessions(session_ids) -> int:
    """Remove the votes of deflections that failed (a contact followed): ORM deletes, so
    the threads are re-indexed after the commit."""
    rows = db.session.execute(select(SearchEvidence).where(
        SearchEvidence.session_id.in_(list(session_ids)),
        SearchEvidence.source.in_(EVENT_SOURCES))).scalars().all() if session_ids else []
    for row in rows:
        db.session.delete(row)
    return len(rows)


def duplicate_voter(thread_id: int) -> str:
    return f"duplicate:{thread_id}"


def record_duplicate(duplicate: Thread, original: Thread, at: datetime) -> bool:
    """A question closed as a duplicate: its title is a way of asking for the original."""
    if not (duplicate.visible and original.visible):
        return False
    return vote(original.id, duplicate_voter(duplicate.id), "duplicate", duplicate.title, at)


def rebuild_duplicates() -> Rebuilt:
    """Replace the duplicate-made votes with those the duplicate links support (both threads visible)."""
    touched = set(db.session.execute(select(SearchEvidence.thread_id).where(
        SearchEvidence.source == "duplicate").distinct()).scalars())
    db.session.execute(delete(SearchEvidence).where(SearchEvidence.source == "duplicate"))
    written = 0
    for link in db.session.execute(select(DuplicateLink).order_by(DuplicateLink.id)).scalars():
        duplicate = db.session.get(Thread, link.thread_id)
        if duplicate is not None and record_duplicate(duplicate, link.original, link.created_at):
            written += 1
            touched.add(link.original_id)
    return Rebuilt(written, touched)


@dataclass
class Rebuilt:
    votes: int
    threads: set[int]


def rebuild_from_events(*, now: datetime | None = None, days: int | None = None) -> Rebuilt:
    """Replace the event-made votes with those the ask events of the last ``days`` support.

    The metrics' own rules decide (``deflection.metrics.classify_range``): a counted
    confirmed or inferred deflection, not excluded, not failed by a later contact,
    credited to a visible thread, in a session that may teach (:func:`learns_from`).
    Returns the votes written and every thread whose evidence may have changed (to re-index).
    """
    from ..deflection import metrics

    now = now or utcnow()
    days = int(current_app.config.get("SEARCH_LEARN_DAYS", 730) if days is None else days)
    conf = metrics.settings()
    outcomes, _arms, _contacted = metrics.classify_range(now - timedelta(days=days), now + timedelta(seconds=1),
                                                         now=now, conf=conf)
    chosen: dict[tuple[int, str], tuple] = {}
    for facts, outcome in outcomes:
        if (not outcome.deflected or outcome.excluded or outcome.failed or outcome.credited_thread_id is None
                or facts.arm == "holdout" or facts.page != "ask"):
            continue
        source = "confirmed" if outcome.confirmed else "opened"
        key = (outcome.credited_thread_id, visitor_voter(facts.visitor_id))
        candidate = (_rank(source), -outcome.at.timestamp(), source, facts.id, outcome.at)
        if key not in chosen or candidate < chosen[key]:
            chosen[key] = candidate
    visible = set(db.session.execute(select(Thread.id).where(
        Thread.id.in_({thread_id for thread_id, _ in chosen}), Thread.visible)).scalars()) if chosen else set()
    touched = set(db.session.execute(select(SearchEvidence.thread_id).where(
        SearchEvidence.source.in_(EVENT_SOURCES)).distinct()).scalars())
    db.session.execute(delete(SearchEvidence).where(SearchEvidence.source.in_(EVENT_SOURCES)))
    written = 0
    for (thread_id, voter), (_r, _t, source, session_id, at) in sorted(chosen.items()):
        if thread_id not in visible:
            continue
        if vote(thread_id, voter, source, words_for(session_id, thread_id, at), at, session_id):
            written += 1
            touched.add(thread_id)
    return Rebuilt(written, touched)
