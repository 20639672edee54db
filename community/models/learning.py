"""Learned search evidence: the words people typed that led to a thread (issue 16).

Each row is one *vote*: one distinct voter (a visitor cookie, or a closed duplicate)
said "these words are a way of asking for this thread".  The rows are derived data,
rebuildable from the ask events (``flask search learn``); the search index reads
them into a separate, weighted ``learned`` field (``community/search/learned.py``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow

#: Where a vote came from, strongest first (a stronger source replaces a weaker one).
#: ``accepted`` and ``idea``: an accepted answer linking to the thread, an idea linked to it
#: (``services/learning/judgments.py``).
#: ``related``: a click on a thread page's "Related questions" (``services/learning/clicks.py``).
EVIDENCE_SOURCES = ("confirmed", "duplicate", "accepted", "idea", "opened", "related")
#: Sources that are a person's judgment, not a click: they do not decay (``search/learned.py``).
JUDGMENT_SOURCES = ("duplicate", "accepted", "idea")


class SearchEvidence(db.Model):
    """One voter's words for one thread: one row per (thread, voter), whatever they did."""

    __tablename__ = "search_evidence"
    __table_args__ = (
        UniqueConstraint("thread_id", "voter"),
        Index("ix_search_evidence_thread_time", "thread_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    #: ``visitor:<cookie id>`` or ``duplicate:<thread id>``: who is counted once.
    voter: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(12))
    #: The words typed (the ask query, or the duplicate's title), as typed, bounded.
    words: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("ask_sessions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchQueueEntry(db.Model):
    """One index update waiting: document ``key`` changed in the transaction that wrote this row.

    Written in the same transaction as the change (so a committed change always has its row,
    and a rolled-back one never does), applied after the response by ``search/queue.py`` and
    deleted once the index holds it. The database stays the source of truth: losing the
    index loses nothing (``flask search rebuild``), and a row left by a dead worker is applied
    by the next one. Used by the Whoosh backend only (PostgreSQL search writes its documents
    in the transaction itself).

    Its ids are never reused (SQLite's ``AUTOINCREMENT``; PostgreSQL's sequence never reuses
    one): a round deletes the rows it read by id after its index commit, and by then another
    worker may have applied them and a new change been queued; an id used again would make
    that late delete take the new, unapplied row.
    """

    __tablename__ = "search_queue"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``thread:3``, ``idea:4``, ``article:2``: the document to read again from the database.
    key: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RelatedClick(db.Model):
    """A visitor followed a "Related questions" link from one thread to another (issue 16:
    clicks on related threads are recorded like opened suggestions). One row per (thread,
    target, visitor): a visitor counts once, however often they click."""

    __tablename__ = "related_clicks"
    __table_args__ = (
        UniqueConstraint("thread_id", "target_id", "visitor_id"),
        Index("ix_related_clicks_target_time", "target_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The thread page the link was on, and the thread it led to.
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    #: The visitor cookie (``deflection.visitors``), as ask sessions keep it.
    visitor_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The salted address hash (``visitors.address_key``): the hourly address cap of learning.
    address_key: Mapped[str | None] = mapped_column(String(64))
    #: Whether the request brought the visitor cookie an earlier page set; only such clicks
    #: are learned from (a client keeping no cookies is a new "visitor" at every request).
    cookie_kept: Mapped[bool] = mapped_column(default=False, server_default=false())
