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
from sqlalchemy import and_, delete, not_, select, update

from ... import search
from ...extensions import db
from ...models import EVIDENCE_SOURCES, AskEvent, AskSession, DuplicateLink, SearchEvidence, Thread, utcnow
from ..ideas.rows import insert_ignore

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
    source (an opening never overwrites a confirmation).  Returns whether a row was
    written.  Statements, not ORM objects: an insert that finds the row already there
    (another request, at the same moment) does nothing, and the update then matches it
    or, if another request removed it meanwhile, nothing; never an error or a warning.
    """
    words = " ".join((words or "").split())[:WORDS_MAX]
    if not words or source not in EVIDENCE_SOURCES:
        return False
    values = {"source": source, "words": words, "session_id": session_id, "created_at": at}
    if insert_ignore(SearchEvidence, {"thread_id": thread_id, "voter": voter, **values}):
        search.changed(f"thread:{thread_id}")
        return True
    replaceable = EVIDENCE_SOURCES[_rank(source):]  # this source and the weaker ones
    table = SearchEvidence.__table__
    same = and_(table.c.source == source, table.c.words == words, table.c.created_at == at)
    result = db.session.execute(update(table).where(
        table.c.thread_id == thread_id, table.c.voter == voter, table.c.source.in_(replaceable), not_(same))
        .values(**values))
    if not result.rowcount:
        return False
    search.changed(f"thread:{thread_id}")
    return True


def delete_votes(*conditions) -> set[int]:
    """Delete the votes matching ``conditions`` with one statement (two requests removing the
    same row at once both succeed, where ORM deletes warn that one matched nothing), and
    re-index their threads at commit.  Returns those threads."""
    threads = set(db.session.execute(select(SearchEvidence.thread_id).where(*conditions)).scalars())
    if threads:
        db.session.execute(delete(SearchEvidence).where(*conditions).execution_options(synchronize_session="fetch"))
        search.changed(*(f"thread:{thread_id}" for thread_id in sorted(threads)))
    return threads


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
    """Remove the votes of deflections that failed (a contact followed); their threads are
    re-indexed after the commit.  Returns the threads that lost a vote."""
    ids = list(session_ids)
    if not ids:
        return 0
    return len(delete_votes(SearchEvidence.session_id.in_(ids), SearchEvidence.source.in_(EVENT_SOURCES)))


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
