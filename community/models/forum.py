"""Categories, threads (questions), posts (the question and its answers), tags, votes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, and_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .user import User

thread_tags = Table(
    "thread_tags",
    db.metadata,
    Column("thread_id", ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)


class Thread(db.Model):
    """A customer's question and the replies to it.

    The question itself is the thread's first post (``question_post_id``), so
    it is voted on, edited and revised like any other post.  Counters
    (``reply_count``, ``score``) are denormalised for listings and kept by the
    services in the same transaction as the change.
    """

    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_category_activity", "category_id", "last_activity_at"),
        Index("ix_threads_activity", "last_activity_at"),
        Index("ix_threads_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), default="")
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    solved_at: Mapped[datetime | None]
    view_count: Mapped[int] = mapped_column(default=0)
    reply_count: Mapped[int] = mapped_column(default=0)
    score: Mapped[int] = mapped_column(default=0)
    question_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL")
    )
    accepted_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL")
    )
    locked: Mapped[bool] = mapped_column(default=False)
    pinned: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    #: Set when a moderator merged this thread into another; its URL redirects there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"))
    #: When its author was reminded to accept an answer (once per thread, ``ACCEPT_REMINDER_DAYS``).
    accept_reminded_at: Mapped[datetime | None]
    #: When watchers of its category and tags were offered it, unanswered (``UNANSWERED_NOTIFY_HOURS``).
    unanswered_offered_at: Mapped[datetime | None]

    category: Mapped[Category] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    tags: Mapped[list[Tag]] = relationship(secondary=thread_tags, order_by="Tag.name")
    posts: Mapped[list["Post"]] = relationship(
        back_populates="thread", foreign_keys="Post.thread_id", order_by="Post.id"
    )
    question_post: Mapped["Post | None"] = relationship(foreign_keys=[question_post_id], post_update=True)
    accepted_post: Mapped["Post | None"] = relationship(foreign_keys=[accepted_post_id], post_update=True)

    @property
    def solved(self) -> bool:
        return self.accepted_post_id is not None

    @property
    def answered(self) -> bool:
        return self.reply_count > 0

    @hybrid_property
    def live(self) -> bool:
        """Still a thread of its own: not deleted, not merged away (staff see it even when hidden)."""
        return not (self.deleted or self.merged_into_id)

    @live.inplace.expression
    @classmethod
    def _live_expression(cls):
        return and_(cls.deleted.is_(False), cls.merged_into_id.is_(None))

    @hybrid_property
    def visible(self) -> bool:
        """Shown to everyone: live and not hidden. The one rule for listings, counts, metrics and the index;
        in a query, ``.where(Thread.visible)``."""
        return not (self.hidden or self.deleted or self.merged_into_id)

    @visible.inplace.expression
    @classmethod
    def _visible_expression(cls):
        return and_(cls.hidden.is_(False), cls.deleted.is_(False), cls.merged_into_id.is_(None))


class Post(db.Model):
    """The question (``is_question``) or an answer.  ``body_html`` is sanitized and stored."""

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_thread", "thread_id", "id"),
        Index("ix_posts_author", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    is_question: Mapped[bool] = mapped_column(default=False)
    #: An agent's public ticket reply, shown as an "Official response".
    is_official: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    score: Mapped[int] = mapped_column(default=0)
    #: The score an import brought in, which no Vote row stands for: score = this + the votes.
    imported_score: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str | None] = mapped_column(String(300))
    deleted: Mapped[bool] = mapped_column(default=False)

    thread: Mapped[Thread] = relationship(back_populates="posts", foreign_keys=[thread_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    edited_by: Mapped[User | None] = relationship(foreign_keys=[edited_by_id])

    @hybrid_property
    def visible(self) -> bool:
        """Shown to everyone: neither hidden nor deleted (``.where(Post.visible)`` in a query)."""
        return not (self.hidden or self.deleted)

    @visible.inplace.expression
    @classmethod
    def _visible_expression(cls):
        return and_(cls.hidden.is_(False), cls.deleted.is_(False))


class PostRevision(db.Model):
    """The state of a post (and its thread's title and tags) before an edit."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    editor: Mapped[User] = relationship()


class Vote(db.Model):
    """One row per (post, voter); ``value`` 0 means withdrawn, kept for the ledger's links."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    value: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThreadView(db.Model):
    """Daily distinct viewers, so a refresh does not inflate the view count."""

    __tablename__ = "thread_views"
    __table_args__ = (UniqueConstraint("thread_id", "viewer", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    viewer: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))


class DuplicateLink(db.Model):
    """A question closed as a duplicate of another (Stack Overflow's "close as duplicate").

    Unlike a merge nothing moves: the duplicate stays readable, with a banner that leads
    to the original (and its accepted answer), and its title becomes learned search
    evidence for the original (``services/learning``).  One per duplicate (the unique
    key makes two closes sent at once close once).
    """

    __tablename__ = "thread_duplicates"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), unique=True)
    original_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    original: Mapped[Thread] = relationship(foreign_keys=[original_id])
