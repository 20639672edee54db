"""Ask sessions and their events: the raw facts behind every deflection metric.

Ratios are never stored; they are computed on read from these rows (see
``docs/metrics.md`` and ``services/deflection.py``).
"""
from __future__ import annotations

from datetime import datetime

from datetime import date

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

ASK_PAGES = ("ask", "contact")
ASK_ARMS = ("suggestions", "holdout")
#: Kinds that are a contact: the visitor went on to ask the community or support.
CONTACT_KINDS = ("question_posted", "support_request")
ASK_EVENT_KINDS = (
    "suggestions_shown",   # query + result ids shown to the visitor
    "suggestion_opened",   # visitor opened a suggested thread, article or idea
    "confirmed",           # "This solved my problem"
    "still_need_help",     # "I still need help" (back to the form)
    "question_posted",     # the session ended in a new thread
    "support_request",     # the session ended in a support ticket
)


class AskSession(db.Model):
    """A visit to /ask or /support/contact, by a cookie (anonymous) and/or a user."""

    __tablename__ = "ask_sessions"
    __table_args__ = (
        Index("ix_ask_sessions_started", "started_at"),
        Index("ix_ask_sessions_visitor", "visitor_id", "started_at"),
        Index("ix_ask_sessions_last_activity", "last_activity_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    page: Mapped[str] = mapped_column(String(10))
    arm: Mapped[str] = mapped_column(String(12), default="suggestions")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What the visitor had typed when they left the form (no-JS preview, log-in detour),
    #: so that "I still need help" and logging in bring it back: {"title", "body", ...}.
    draft: Mapped[dict | None] = mapped_column(JSON)
    #: Salted hash of the client address: the per-address caps read it; the address is not kept.
    address_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: When the page's script first reported in (``POST /ask/beacon``): scripts that replay
    #: URLs without running the page never set it (see docs/metrics.md, excluded traffic).
    beacon_at: Mapped[datetime | None]
    #: The session's one counted "This solved my problem" (set once, by a guarded UPDATE).
    confirmed_at: Mapped[datetime | None]
    #: When ``credit.settle_inferred`` last judged the session final (not pending): it is looked
    #: at again only after later activity (a page left open that opens another suggestion).
    credit_settled_at: Mapped[datetime | None]

    events: Mapped[list["AskEvent"]] = relationship(
        back_populates="session", order_by="AskEvent.id", cascade="all, delete-orphan"
    )


class AskEvent(db.Model):
    __tablename__ = "ask_events"
    __table_args__ = (
        Index("ix_ask_events_session", "session_id", "created_at"),
        Index("ix_ask_events_kind_time", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("ask_sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    query: Mapped[str | None] = mapped_column(String(500))
    #: Lower-cased, whitespace-collapsed query: the debounce key and the content-gap group.
    normalized_query: Mapped[str | None] = mapped_column(String(200))
    #: ["thread:12", "idea:3", ...] in the order shown.
    result_ids: Mapped[list | None] = mapped_column(JSON)
    #: len(result_ids), a column so that SQL can filter "shown with results" portably.
    result_count: Mapped[int | None]
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    idea_id: Mapped[int | None]
    #: A knowledge-base article opened or confirmed (counted like a thread: docs/metrics.md).
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[AskSession] = relationship(back_populates="events")


class AskRefusal(db.Model):
    """What the deflection guards refused or left out, counted per UTC day and reason.

    Never silently dropped: ``/analytics`` reports these counts as refused traffic.
    One row per (day, reason), incremented in place.
    """

    __tablename__ = "ask_refusals"
    __table_args__ = (UniqueConstraint("day", "reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(String(30))
    count: Mapped[int] = mapped_column(default=0)


#: A credit's kind: the visitor's own "This solved my problem", or an inferred deflection.
CREDIT_KINDS = ("confirmed", "inferred")


class DeflectionCredit(db.Model):
    """A deflection credited to the thread that solved it and its accepted answer.

    One per ask session (the unique key makes ten confirmations sent at once credit
    once): ``kind`` "confirmed" (written by the confirmation) or "inferred" (written by
    ``credit.settle_inferred`` once the session ended without a contact; a later
    confirmation replaces it).  ``failed_at`` is set when the same visitor contacts support or posts a
    question within the attribution window after the deflection; the answer
    author's bonus (``deflection_helped`` in the ledger, ``source="deflection:<session>"``)
    is then reversed.  "Helped N customers" counts credits that did not fail.
    """

    __tablename__ = "deflection_credits"
    __table_args__ = (
        Index("ix_deflection_credits_thread", "thread_id", "failed_at"),
        Index("ix_deflection_credits_author", "author_id", "created_at"),
        Index("ix_deflection_credits_visitor", "visitor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("ask_sessions.id", ondelete="CASCADE"), unique=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    #: The accepted answer when the visitor confirmed (None: the thread had none; no bonus).
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    visitor_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When the deflection happened: the confirmation, or the inferred session's last opening.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(10), default="confirmed", server_default="confirmed")
