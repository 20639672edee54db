"""In-app notifications and the outbox for work done behind the response."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
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
    "watching",         # a new post in a thread you watch, a new question where you watch
    "reminder",         # accept an answer that solved your question (ACCEPT_REMINDER_DAYS)
    "unanswered",       # a question nobody answered, where you watch (UNANSWERED_NOTIFY_HOURS)
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



class InboundMail(db.Model):
    """A reply received by email, kept by its ``Message-ID`` (``services/mail/inbound.claim``).

    Mail servers deliver the same message again (a retry after a timeout, a second MX, a
    forwarding loop): the unique key makes the second delivery, or ten at once, post nothing.
    ``message_key`` is the Message-ID, or ``sha256:<hex>`` of the raw message when it has none
    (or one longer than the column)."""

    __tablename__ = "inbound_mail"
    __table_args__ = (UniqueConstraint("message_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(255))
    #: The post it became (None once that post is gone).
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpentLink(db.Model):
    """A signed link from a mail that works once (``services/mail/accept_links.py``): its nonce,
    kept when it is used.  The primary key makes a second use, or ten at once, a refusal."""

    __tablename__ = "spent_links"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)

#: Kinds of event a member chooses a channel for, with the default (docs/accounts.md): a reply to
#: your question and your answer accepted are emailed at once, the rest in-app and in the digest.
EMAIL_KINDS = {
    "reply": "immediately",       # a reply to my question
    "accepted": "immediately",    # my answer was accepted
    "mention": "digest",          # someone @mentioned me
    "watching": "digest",         # a new post in a thread I watch, a new question where I watch
    "idea": "digest",             # an idea I follow changed status, got an official response or a comment
    "ticket": "digest",           # a reply on my support ticket, its status changed
    "reminder": "digest",         # accept the answer that solved my question
    "unanswered": "digest",       # a question nobody answered, in what I watch
}
#: Channels: email at once, in the daily digest, in-app only ("never" emailed), or off (not even in-app).
EMAIL_CHOICES = ("immediately", "digest", "never", "off")
#: Which preference a notification kind falls under.
EMAIL_KIND_OF = {"reply": "reply", "accepted": "accepted", "mention": "mention", "watching": "watching",
                 "idea_status": "idea", "idea_comment": "idea", "ticket_reply": "ticket",
                 "ticket_status": "ticket", "reminder": "reminder", "unanswered": "unanswered"}
#: Discourse's levels: watching (every post), tracking (unread counted, mentions and replies), muted.
WATCH_LEVELS = ("watching", "tracking", "muted")


class NotificationPreference(db.Model):
    """A member's email choice for one kind of event; no row means the default (``EMAIL_KINDS``)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    email: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThreadSubscription(db.Model):
    """Watching (hear about every post), tracking (unread posts counted) or muted (hear about
    nothing) for one member and thread (``services/accounts/subscriptions.py``).  Asking or
    answering sets the member's ``auto_watch`` level; no row: what the category and tags imply."""

    __tablename__ = "thread_subscriptions"
    __table_args__ = (Index("ix_thread_subscriptions_thread_level", "thread_id", "level"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The last post the member had when they last opened the thread (tracking's unread count).
    last_read_post_id: Mapped[int | None]


class CategorySubscription(db.Model):
    """A member's level for every thread of a category (a thread's own level wins)."""

    __tablename__ = "category_subscriptions"
    __table_args__ = (Index("ix_category_subscriptions_category_level", "category_id", "level"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TagSubscription(db.Model):
    """A member's level for every thread with a tag (a thread's own level wins)."""

    __tablename__ = "tag_subscriptions"
    __table_args__ = (Index("ix_tag_subscriptions_tag_level", "tag_id", "level"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
