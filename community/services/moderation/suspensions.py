"""Suspending and reinstating accounts.

A suspended account can still log in and read, but cannot write anywhere:
``permissions.is_active_member`` (the precondition of every write) is false
while ``suspended_until`` is in the future, and the API refuses every
non-GET call with 403.  A suspension ends by itself at its end date;
reinstating ends it early.  Callers check ``permissions.can_suspend``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from ...models import User, utcnow
from ..errors import Conflict, ValidationError
from . import audit
from .actions import clean_reason

MAX_DAYS = 3650


def suspension_state(user: User) -> dict:
    return {"suspended_until": user.suspended_until.isoformat() if user.suspended_until else None,
            "reason": user.suspension_reason}


def parse_until(value) -> datetime:
    """An end date from a date (end of that UTC day), an ISO datetime, or a number of days."""
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationError("Give the date the suspension ends.", field="until")
    if isinstance(value, datetime):
        until = value
    elif isinstance(value, date):
        until = datetime.combine(value, time(23, 59, 59))
    elif isinstance(value, int):
        if not 0 < value <= MAX_DAYS:  # checked first: a huge number of days overflows a date
            raise ValidationError(f"A suspension lasts from 1 to {MAX_DAYS} days.", field="until")
        until = utcnow() + timedelta(days=value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("Z")
        try:
            if len(text) == 10:
                until = datetime.combine(date.fromisoformat(text), time(23, 59, 59))
            else:
                until = datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError:
            raise ValidationError("The end date must look like 2026-12-31.", field="until") from None
    else:
        raise ValidationError("The end date must be a date string like 2026-12-31.", field="until")
    now = utcnow()
    if until <= now:
        raise ValidationError("The end date must be in the future.", field="until")
    if until > now + timedelta(days=MAX_DAYS):
        raise ValidationError(f"A suspension lasts at most {MAX_DAYS} days.", field="until")
    return until


def suspend(actor, user: User, reason, until) -> User:
    """Suspend ``user`` until ``until`` (see ``parse_until``); re-suspending changes the terms."""
    reason = clean_reason(reason)
    end = parse_until(until)
    before = suspension_state(user) | {"active": user.is_suspended}
    user.suspended_until = end
    user.suspension_reason = reason
    audit.record(actor, "user.suspend", "user", user.id, before=before,
                 after=suspension_state(user) | {"active": True}, note=reason)
    return user


def reinstate(actor, user: User, note="") -> User:
    """End a suspension now."""
    if not user.is_suspended:
        raise Conflict("This account is not suspended.")
    note = clean_reason(note, required=False, field="note")
    before = suspension_state(user) | {"active": True}
    user.suspended_until = None
    user.suspension_reason = None
    audit.record(actor, "user.reinstate", "user", user.id, before=before,
                 after=suspension_state(user) | {"active": False}, note=note)
    return user
