"""The reputation ledger: every change is a row; totals are derived from it."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .user import User


class ReputationEvent(db.Model):
    """One change of a user's reputation.

    Rows are never updated or deleted: an undo is a new row with the opposite
    points and ``reversal_of_id`` pointing at the row it cancels.  ``cap_day``
    is the UTC day whose daily vote cap the row counts toward (``None`` for
    uncapped reasons such as accepts); a reversal carries its original's day,
    so withdrawing yesterday's vote does not make room under today's cap.
    """

    __tablename__ = "reputation_events"
    __table_args__ = (
        Index("ix_reputation_user_day", "user_id", "cap_day"),
        Index("ix_reputation_vote", "vote_id"),
        Index("ix_reputation_post", "post_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    points: Mapped[int]
    #: Points the rule asked for before the daily cap trimmed them.
    requested_points: Mapped[int]
    reason: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id", ondelete="SET NULL"))
    #: Ideas and other sources record their own ids here (``idea:12``, ``deflection:7``).
    source: Mapped[str | None] = mapped_column(String(60), index=True)
    cap_day: Mapped[date | None]
    reversal_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("reputation_events.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
