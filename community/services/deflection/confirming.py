"""Opening a suggestion and "This solved my problem": the rules that make a confirmation count.

A confirmation counts only for a *visible* thread or a *published* knowledge-base
article that was *suggested in that session* and *opened from it*, and only once per
session (the first; a guarded UPDATE makes the same request sent ten times at once
count once).  Ideas are never confirmed.
Everything refused is counted (``guards.count_refusal``), never silently dropped.
Callers commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode
from datetime import datetime

from sqlalchemy import select, update

from ... import urls
from ...extensions import db
from ...models import Article, AskEvent, AskSession, Idea, Thread, utcnow
from ..errors import NotFound
from . import credit, guards, visitors
from .ask_sessions import record_event, suggested_keys


@dataclass
class Opened:
    url: str            # where to send the visitor (computed here, never taken from the client)
    recorded: bool      # whether ``suggestion_opened`` was written


def _visible_thread(thread_id: int) -> Thread | None:
    thread = db.session.get(Thread, thread_id)
    return thread if thread is not None and thread.visible else None


def _published_article(article_id: int) -> Article | None:
    article = db.session.get(Article, article_id)
    return article if article is not None and article.published else None


def _visible_idea(idea_id: int) -> Idea | None:
    """An idea that exists (a merged one forwards to where it went)."""
    return db.session.get(Idea, idea_id)


_TARGETS = {"thread": _visible_thread, "article": _published_article, "idea": _visible_idea}
_URLS = {"thread": urls.thread_url, "article": urls.article_url, "idea": urls.idea_url}


def page_url(kind: str, target_id: int | None) -> str | None:
    """The URL of a visible thread or published article (computed here, never taken from the client)."""
    target = _TARGETS[kind](target_id) if kind in _TARGETS and target_id else None
    return _URLS[kind](target) if target is not None else None


def open_target(kind: str, target_id: int):
    """The visible thread, published article or idea, else ``NotFound`` (counted as ``open_invalid``)."""
    target = _TARGETS[kind](target_id) if kind in _TARGETS else None
    if target is None:
        guards.count_refusal("open_invalid")
        raise NotFound("No such thread, article or idea.")
    return target


def open_suggestion(session: AskSession | None, kind: str, target_id: int, *, via: str = "ask",
                    at: datetime | None = None) -> Opened:
    """Record that the visitor opened a suggestion of their session, and where to go.

    Rate limited per visitor and per address (``DEFLECTION_OPEN_RATE_LIMIT``).  Only
    something the session was shown is recorded; anything else just forwards.
    """
    guards.limit("DEFLECTION_OPEN_RATE_LIMIT", "open_limit",
                 visitor=visitors.visitor_id(mint=False), address=visitors.address_key())
    target = open_target(kind, target_id)
    url = _URLS[kind](target)
    if session is None:
        return Opened(url, False)
    if f"{kind}:{target_id}" not in suggested_keys(session.id):
        guards.count_refusal("open_invalid")
        return Opened(url, False)
    record_event(session.id, "suggestion_opened", at=at, **{f"{kind}_id": target_id})
    if kind != "idea":
        url += "?" + urlencode({"from_suggestion": session.id, "via": via})
    return Opened(url, True)


def opened_from_session(session: AskSession, kind: str, target_id: int) -> bool:
    """The session opened this thread or article through one of its own suggestions."""
    column = AskEvent.thread_id if kind == "thread" else AskEvent.article_id
    return db.session.execute(
        select(AskEvent.id).where(AskEvent.session_id == session.id,
                                  AskEvent.kind == "suggestion_opened",
                                  column == target_id).limit(1)).first() is not None


def prompt_state(session: AskSession | None, kind: str, target_id: int) -> dict | None:
    """What the thread or article page's prompt shows: ``None`` unless opened from this session."""
    if session is None or not opened_from_session(session, kind, target_id):
        return None
    return {"session_id": session.id, "confirmed": session.confirmed_at is not None,
            "kind": kind, "target_id": target_id}


def confirm(session: AskSession | None, thread_id: int | None, *, article_id: int | None = None,
            at: datetime | None = None) -> bool:
    """"This solved my problem": ``True`` when it counted, ``False`` for a repeat.

    ``NotFound`` (counted ``confirm_invalid``) unless the thread is visible (or the
    article published), was suggested in the session and opened from it; rate limited
    per visitor and per address (``DEFLECTION_CONFIRM_RATE_LIMIT``).
    """
    guards.limit("DEFLECTION_CONFIRM_RATE_LIMIT", "confirm_limit",
                 visitor=visitors.visitor_id(mint=False), address=visitors.address_key())
    kind, target_id = ("thread", thread_id) if thread_id else ("article", article_id)
    target = _TARGETS[kind](target_id) if target_id else None
    if (session is None or target is None or f"{kind}:{target.id}" not in suggested_keys(session.id)
            or not opened_from_session(session, kind, target.id)):
        guards.count_refusal("confirm_invalid")
        raise NotFound(f"This {kind} was not opened from your search.")
    at = at or utcnow()
    sessions = AskSession.__table__
    won = db.session.execute(
        update(sessions).where(sessions.c.id == session.id, sessions.c.confirmed_at.is_(None))
        .values(confirmed_at=at)).rowcount
    if not won:
        guards.count_refusal("confirm_repeat")
        return False
    record_event(session.id, "confirmed", at=at, **{f"{kind}_id": target.id})
    db.session.refresh(session, ["confirmed_at"])
    if kind == "thread":  # an official article credits no member
        credit.credit_confirmation(session, target, at)
    return True
