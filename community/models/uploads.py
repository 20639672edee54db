"""Images members upload into posts, ideas and ticket replies (see docs/uploads.md)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow

UPLOAD_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}


class Upload(db.Model):
    """One stored image: re-encoded by the server, named by its content hash.

    The stored bytes are the server's own encoding (no metadata, no trailing data), so
    the same picture uploaded twice by one member is one row (``uq_uploads_user_sha``).
    """

    __tablename__ = "uploads"
    __table_args__ = (
        UniqueConstraint("user_id", "sha256", name="uq_uploads_user_sha"),
        Index("ix_uploads_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: Hash of the stored (re-encoded) bytes; the file is ``<sha256>.<ext>``.
    sha256: Mapped[str] = mapped_column(String(64))
    ext: Mapped[str] = mapped_column(String(5))
    content_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    original_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def filename(self) -> str:
        return f"{self.sha256}.{self.ext}"

    @property
    def url(self) -> str:
        return f"/uploads/{self.filename}"
