"""Knowledge-base articles: official answers written by staff, with revisions and "Was this helpful?" votes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .forum import Category, Tag, Thread
from .user import User

ARTICLE_STATES = ("draft", "published", "archived")

article_tags = Table(
    "article_tags",
    db.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Article(db.Model):
    """An official article.  ``body_html`` is sanitized once, at write time.

    ``helpful_yes`` / ``helpful_no`` are counters kept in the same transaction as
    each ``ArticleFeedback`` row (one per visitor), so they always equal the rows.
    ``source_thread_id`` is the solved thread it was promoted from, if any.
    """

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_state_updated", "state", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    source_thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"),
                                                         unique=True)
    #: The accepted answer's author credited on promotion (reputation ``answer_promoted``).
    credited_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    helpful_yes: Mapped[int] = mapped_column(default=0)
    helpful_no: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What readers see as "Updated": the last published change of title or body.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]

    category: Mapped[Category] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    credited_user: Mapped[User | None] = relationship(foreign_keys=[credited_user_id])
    source_thread: Mapped[Thread | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, order_by="Tag.name")

    @property
    def published(self) -> bool:
        return self.state == "published"

    @property
    def helpful_total(self) -> int:
        return self.helpful_yes + self.helpful_no

    @property
    def helpful_rate(self) -> float | None:
        """Share of "yes" among the votes, from 0 to 1; ``None`` with no votes."""
        return self.helpful_yes / self.helpful_total if self.helpful_total else None


class ArticleRevision(db.Model):
    """An article's title and body as saved by one edit, with who and why."""

    __tablename__ = "article_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    editor: Mapped[User] = relationship()


class ArticleFeedback(db.Model):
    """One "Was this helpful?" answer per visitor per article (``voter``: ``u:<id>`` or ``v:<cookie>``)."""

    __tablename__ = "article_feedback"
    __table_args__ = (UniqueConstraint("article_id", "voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    voter: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    helpful: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
