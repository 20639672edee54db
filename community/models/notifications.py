"""In-app notifications and the outbox for work done behind the response."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .user import User

NOTIFICATION_KINDS = (
    "reply",            # a reply to your thread
    "accepted",         # your answer was accepted
    "mention",          # @username in a post
    "idea_status",      # an idea you follow changed status / got an official response
    "idea_comment",     # a comment on your idea
    "ticket_reply",     # a public reply on your escalated thread or support request
    "ticket_status",    # your ticket's status changed
)


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(300))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class OutboxMessage(db.Model):
    """Work to do after the transaction that caused it (mail, webhooks, index updates).

    Written in the same transaction as the change, so nothing is lost if a
    worker dies; workers claim rows atomically (``claimed_by``), so nothing is
    done twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "channel", "sent_at", "available_at"),
                      Index("ix_outbox_user_created", "user_id", "created_at"),
                      Index("ix_outbox_throttle", "throttle_key", "available_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # "webhook", "email", ...
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    #: The member a notification mail is for (the daily ceiling counts these).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: ``thread:<id>:user:<id>`` for notification mails: one per thread per hour per person.
    throttle_key: Mapped[str | None] = mapped_column(String(80))


#: Email kinds a member sets a preference for, with what happens by default (docs/accounts.md).
EMAIL_KINDS = {
    "reply": "immediately",       # a reply to my question
    "accepted": "immediately",    # my answer was accepted
    "mention": "digest",          # someone @mentioned me
    "watching": "digest",         # a new post in a thread I watch
}
EMAIL_CHOICES = ("immediately", "digest", "never")
#: Which preference a notification kind falls under (kinds not listed are in-app only).
EMAIL_KIND_OF = {"reply": "reply", "accepted": "accepted", "mention": "mention", "watching": "watching"}
WATCH_LEVELS = ("watching", "muted")


class NotificationPreference(db.Model):
    """A member's email choice for one kind of event; no row means the default (``EMAIL_KINDS``)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    email: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThreadSubscription(db.Model):
    """Watching (hear about every post) or muted (hear about nothing) for one member and thread.
    Asking or answering a thread watches it; no row means neither."""

    __tablename__ = "thread_subscriptions"
    __table_args__ = (Index("ix_thread_subscriptions_thread_level", "thread_id", "level"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
