"""Anti-gaming guards: rate limits per visitor and per address, and the refusal counts.

Whatever a guard refuses is counted in ``ask_refusals`` by UTC day and reason, so
that ``/analytics`` reports it ("refused traffic") instead of silently dropping it.
Callers count a refusal after rolling back the request's other writes.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import AskRefusal, utcnow
from ...ratelimit import hit
from ..errors import RateLimited

#: Every reason a request or an event can be refused, with the words the page uses.
REFUSAL_REASONS = {
    "prefetch": "prefetches and prerenders (no session)",
    "bot": "bots and link previewers (no session)",
    "address_rate": "cookieless page views beyond the address's rate (no session)",
    "suggest_limit": "server-side suggestions beyond the suggest limit (not recorded)",
    "open_limit": "suggestion openings beyond the rate limit",
    "open_invalid": "openings of something not suggested in the session, hidden or missing",
    "confirm_limit": "confirmations beyond the rate limit",
    "confirm_invalid": "confirmations of a thread not suggested and opened in the session, "
                       "hidden or missing",
    "confirm_repeat": "second confirmations in the same session",
    "search_failed": "suggestion searches that failed (not counted as zero results)",
}


class Refused(RateLimited):
    """A guard's 429 that knows which refusal count it belongs to."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def count_refusal(reason: str, *, n: int = 1) -> None:
    """Add ``n`` to today's count for ``reason``; race-safe (update, else insert, else update)."""
    if reason not in REFUSAL_REASONS:
        raise ValueError(f"unknown refusal reason {reason!r}")
    table = AskRefusal.__table__
    day = utcnow().date()
    bump = update(table).where(table.c.day == day, table.c.reason == reason).values(
        count=table.c.count + n)
    if db.session.execute(bump).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(table).values(day=day, reason=reason, count=n))
    except IntegrityError:  # another request inserted the row first
        db.session.execute(bump)


def limit(config_key: str, reason: str, *, visitor: str | None, address: str) -> None:
    """Count one hit per visitor and per address against ``config[config_key]``.

    Raises ``Refused`` (429) naming ``reason`` when either is over its limit.
    """
    try:
        if visitor:
            hit(config_key, key=f"visitor:{visitor}")
        hit(config_key, key=f"addr:{address}")
    except RateLimited as exc:
        raise Refused(exc.message, reason) from None


def new_visitor_allowed(address: str) -> bool:
    """Whether one more cookieless page view from ``address`` may start a session.

    Only while automated traffic is excluded (``DEFLECTION_EXCLUDE_AUTOMATED``): a site
    that knows its scripted visitors behind one address turns it off.
    """
    if not current_app.config.get("DEFLECTION_EXCLUDE_AUTOMATED", True):
        return True
    try:
        hit("DEFLECTION_NEW_VISITOR_RATE_LIMIT", key=f"newvisitor:{address}")
    except RateLimited:
        return False
    return True
