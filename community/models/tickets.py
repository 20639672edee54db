"""Official support tickets: escalated threads and Contact-support requests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .user import User

TICKET_STATUSES = ("open", "pending", "solved", "closed")
#: Statuses an agent still has to act on (the queue's default filter).
ACTIVE_STATUSES = ("open", "pending")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")


class Ticket(db.Model):
    """A ticket carries a snapshot of its context (``context``) taken when it was opened."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status", "status", "created_at"),
        Index("ix_tickets_thread", "thread_id"),
        # At most one ticket per thread that is not closed (two moderators escalating at once).
        Index("uq_tickets_active_thread", "thread_id", unique=True,
              sqlite_where=text("status != 'closed' AND thread_id IS NOT NULL"),
              postgresql_where=text("status != 'closed' AND thread_id IS NOT NULL")),
        Index("ix_tickets_assignee", "assignee_id", "status"),
        Index("ix_tickets_requester", "requester_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "escalation" (from a thread) or "contact" (the Contact support form).
    source: Mapped[str] = mapped_column(String(20))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requester_name: Mapped[str | None] = mapped_column(String(80))
    requester_email: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    #: ``body`` rendered once, when the ticket is opened (pages never render Markdown on view).
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ask_session_id: Mapped[str | None] = mapped_column(
        ForeignKey("ask_sessions.id", ondelete="SET NULL")
    )
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]

    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(db.Model):
    """The ticket's timeline: created, status/priority/assignee changes, notes, replies."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # created, status, priority, assignee, note, reply
    public: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    old_value: Mapped[str | None] = mapped_column(String(80))
    new_value: Mapped[str | None] = mapped_column(String(80))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class WebhookAttempt(db.Model):
    """One HTTP attempt to deliver a webhook outbox row: the delivery log admins read."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(default=1)
    worker: Mapped[str] = mapped_column(String(80), default="")
    status_code: Mapped[int | None]
    ok: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(String(1000))
    duration_ms: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
