"""Member flags on posts, reviewed by moderators."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .forum import Post, Thread
from .user import User

#: Why a member flags a post.  ``needs_moderator`` asks for attention (it feeds
#: the unresolved queue) and never counts toward hiding the post.
FLAG_REASONS = ("spam", "offensive", "off_topic", "needs_moderator")
#: Reasons whose open flags from distinct members hide the post pending review.
HIDING_REASONS = ("spam", "offensive", "off_topic")
#: What a moderator decided when resolving a post's flags.
FLAG_OUTCOMES = ("hidden", "restored", "dismissed")


class Flag(db.Model):
    """One member's flag on one post; open until a moderator resolves it.

    A member has at most one *open* flag per post (a partial unique index,
    so two concurrent requests cannot both succeed); after resolution they
    may flag the post again.
    """

    __tablename__ = "flags"
    __table_args__ = (
        Index("uq_flags_open_per_user", "post_id", "user_id", unique=True,
              sqlite_where=text("resolved_at IS NULL"),
              postgresql_where=text("resolved_at IS NULL")),
        Index("ix_flags_open", "resolved_at", "post_id"),
        Index("ix_flags_thread", "thread_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    #: The post's thread when flagged (kept in step when a merge moves the post).
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: "hidden", "restored" or "dismissed" once resolved.
    outcome: Mapped[str | None] = mapped_column(String(20))

    post: Mapped[Post] = relationship()
    thread: Mapped[Thread] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
