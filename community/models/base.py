"""Shared model helpers."""
from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC timestamps: identical on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)
