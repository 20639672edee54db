"""Reading ids and days that clients type: the ranges every area accepts.

An id is a database INTEGER (32-bit signed), so anything above 2**31 − 1 names
nothing and is refused before it reaches a query (PostgreSQL would fail the
statement; SQLite overflows at 2**63).  A day lies between ``MIN_DAY`` and
``MAX_DAY``, so "the day after" and "midnight of" always exist.
"""
from __future__ import annotations

from datetime import date

from .errors import ValidationError

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
MIN_DAY, MAX_DAY = date(1900, 1, 1), date(2999, 12, 31)


def in_int_range(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


def parse_id(raw, field: str) -> int:
    """``raw`` (a string or an int) as an id; a 400 naming ``field`` if it is none."""
    if isinstance(raw, bool):
        raise ValidationError(f"“{field}” must be a number.", field=field)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"“{field}” must be a number.", field=field) from None
    if not in_int_range(value):
        raise ValidationError(f"“{field}” is out of range.", field=field)
    return value


def parse_day(raw: str, field: str, message: str | None = None) -> date:
    """``YYYY-MM-DD`` as a date between MIN_DAY and MAX_DAY; a 400 naming ``field`` otherwise."""
    text = (raw or "").strip()
    try:
        if len(text) != 10:
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(message or f"“{field}” must be a date written YYYY-MM-DD.", field=field) from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise ValidationError(f"“{field}” must be a date between {MIN_DAY} and {MAX_DAY}.", field=field)
    return day


def id_or_none(raw) -> int | None:
    """``raw`` as an id, or None when it is not one (a lookup by it then finds nothing)."""
    if isinstance(raw, bool):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if in_int_range(value) else None
