"""The idea exchange: ideas, their votes, comments, followers and status history.

``Idea.vote_count`` is denormalised for listings.  It is only ever changed by
SQL expressions in the same transaction as the ``IdeaVote`` row it counts
(see ``services/ideas.py``), and the unique (idea, user) constraint makes a
second vote from the same person impossible, so the counter equals the rows.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .forum import Category, Tag
from .user import User

#: Every status, in workflow order.  ``duplicate`` is set only by merging.
IDEA_STATUSES = ("new", "under_review", "planned", "in_progress", "delivered", "declined", "duplicate")
#: Statuses in which an idea still takes votes.
OPEN_STATUSES = ("new", "under_review", "planned", "in_progress")
STATUS_LABELS = {
    "new": "New", "under_review": "Under review", "planned": "Planned",
    "in_progress": "In progress", "delivered": "Delivered", "declined": "Declined",
    "duplicate": "Duplicate",
}

idea_tags = Table(
    "idea_tags",
    db.metadata,
    Column("idea_id", ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Idea(db.Model):
    """A customer's proposal.  The latest official response is copied here for listings."""

    __tablename__ = "ideas"
    __table_args__ = (
        Index("ix_ideas_status_votes", "status", "vote_count"),
        Index("ix_ideas_category_votes", "category_id", "vote_count"),
        Index("ix_ideas_created", "created_at"),
        Index("ix_ideas_activity", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")
    vote_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    #: Set when merged as a duplicate; follow the chain to find where the votes went.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id"))
    #: The latest official response (a copy of the newest ``IdeaStatusChange``).
    response: Mapped[str | None] = mapped_column(Text)
    response_html: Mapped[str | None] = mapped_column(Text)
    response_at: Mapped[datetime | None]
    response_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Edits, comments, status changes and official responses (not votes).
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[Category] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    response_by: Mapped[User | None] = relationship(foreign_keys=[response_by_id])
    tags: Mapped[list[Tag]] = relationship(secondary=idea_tags, order_by="Tag.name")
    merged_into: Mapped["Idea | None"] = relationship(remote_side=[id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


class IdeaVote(db.Model):
    """One standing vote; withdrawing deletes the row.

    ``merged_from_id`` records the idea a vote was moved from by a merge (its
    ``created_at`` is kept, so trends stay true to when people voted).
    """

    __tablename__ = "idea_votes"
    __table_args__ = (
        UniqueConstraint("idea_id", "user_id"),
        Index("ix_idea_votes_idea_created", "idea_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    merged_from_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship()


class IdeaComment(db.Model):
    __tablename__ = "idea_comments"
    __table_args__ = (Index("ix_idea_comments_idea", "idea_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    hidden: Mapped[bool] = mapped_column(default=False)

    author: Mapped[User] = relationship()


class IdeaFollow(db.Model):
    """Who hears about status changes.  Posting or voting follows; unfollowing keeps the vote."""

    __tablename__ = "idea_follows"
    __table_args__ = (UniqueConstraint("idea_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdeaStatusChange(db.Model):
    """One entry of an idea's history: a status change or an official response (old == new)."""

    __tablename__ = "idea_status_changes"
    __table_args__ = (Index("ix_idea_status_changes_idea", "idea_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    old_status: Mapped[str] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    response: Mapped[str] = mapped_column(Text)
    response_html: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: For merges: the idea this one was merged into.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by: Mapped[User | None] = relationship()

    @property
    def old_label(self) -> str:
        return STATUS_LABELS.get(self.old_status, self.old_status)

    @property
    def new_label(self) -> str:
        return STATUS_LABELS.get(self.new_status, self.new_status)


#: How a link was made: by hand, or offered while escalating, solving a ticket, merging.
LINK_SOURCES = ("manual", "escalation", "ticket_solved", "merge", "idea_form")


class IdeaLink(db.Model):
    """"This thread (or ticket) asks for that idea": the support load behind an idea.

    Exactly one of ``thread_id`` and ``ticket_id`` is set.  The unique pairs
    make linking the same thing twice (even at the same instant) a no-op;
    NULLs never collide, so a thread link and a ticket link coexist.
    """

    __tablename__ = "idea_links"
    __table_args__ = (
        UniqueConstraint("idea_id", "thread_id"),
        UniqueConstraint("idea_id", "ticket_id"),
        CheckConstraint("(thread_id IS NULL) <> (ticket_id IS NULL)", name="one_target"),
        Index("ix_idea_links_thread", "thread_id"),
        Index("ix_idea_links_ticket", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20), default="manual")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()
