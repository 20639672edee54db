"""Ask sessions and their events: cheap to record, so that measuring never slows a page.

An *ask session* is one visit to the Ask page or the Contact-support page by one
visitor (a long-lived cookie, plus the user when logged in).  Opening either page
within ``DEFLECTION_SESSION_MINUTES`` (30) of the session's last activity continues it;
later, a new session starts.  Each session is assigned once, by a salted hash of
its id, to the ``suggestions`` or the ``holdout`` arm (``DEFLECTION_HOLDOUT`` share,
0 by default: no holdout yet).  Known bots get no session at all.

Recording an event is one INSERT plus one UPDATE by primary key; nothing else
happens on the request path.  Callers commit (views commit once).
"""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, insert, or_, select, update

from ...extensions import db
from ...models import AskEvent, AskSession, utcnow
from ...models.metrics import ASK_ARMS, ASK_EVENT_KINDS, ASK_PAGES
from ..errors import ValidationError

SESSION_ID_RE = re.compile(r"^[0-9a-f]{32}$")
VISITOR_ID_RE = re.compile(r"^[0-9a-f]{32}$")
QUERY_MAX = 200

#: Substrings (case-insensitive) of user agents that are crawlers, link previewers or
#: scripts, not customers.  Extend with ``DEFLECTION_BOT_PATTERNS`` in configuration.
DEFAULT_BOT_PATTERNS = (
    "bot", "crawl", "spider", "slurp", "mediapartners", "bingpreview", "facebookexternalhit",
    "embedly", "quora link preview", "pinterest", "whatsapp", "skypeuripreview", "vkshare",
    "w3c_validator", "curl/", "wget/", "python-requests", "python-urllib", "aiohttp",
    "go-http-client", "java/", "okhttp", "libwww", "httpclient", "scrapy", "phantomjs",
    "pingdom", "uptimerobot", "chrome-lighthouse", "ahrefs", "semrush", "duckduckgo-favicons",
    "archive.org_bot", "feedfetcher", "google-read-aloud",
)


# -- small pure helpers ---------------------------------------------------------

def new_token() -> str:
    """32 hex characters (128 random bits): session ids and visitor ids."""
    return secrets.token_hex(16)


def valid_visitor_id(value: str | None) -> bool:
    return bool(value) and bool(VISITOR_ID_RE.match(value))


def valid_session_id(value: str | None) -> bool:
    return bool(value) and bool(SESSION_ID_RE.match(value))


def is_bot(user_agent: str | None) -> bool:
    """An empty user agent or one naming a known crawler, previewer or script."""
    agent = (user_agent or "").strip().lower()
    if not agent:
        return True
    patterns = current_app.config.get("DEFLECTION_BOT_PATTERNS") or DEFAULT_BOT_PATTERNS
    return any(p.lower() in agent for p in patterns)


def normalize_query(text: str | None) -> str:
    """The grouping key of a query: NFKC, lower case, single spaces, no edge punctuation."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"\s+", " ", text).strip(" \t\n.,;:!?¿¡\"'`()[]{}<>")
    return text[:QUERY_MAX]


def clean_query(text: str | None) -> str:
    """What the user typed, tidied and bounded; safe to hand to the search engine."""
    text = "".join(ch for ch in (text or "") if ch.isprintable() or ch == " ")
    return re.sub(r"\s+", " ", text).strip()[:QUERY_MAX]


def arm_for(session_id: str, share: float | None = None, salt: str | None = None) -> str:
    """``holdout`` for a stable ``share`` of session ids, else ``suggestions``.

    sha256(salt:id) read as a number in [0, 1): the same id always lands in the
    same arm, and nobody can choose an id to pick an arm.
    """
    config = current_app.config
    share = float(config.get("DEFLECTION_HOLDOUT", 0) if share is None else share)
    salt = config.get("DEFLECTION_HOLDOUT_SALT", "ask-holdout-v1") if salt is None else salt
    if share <= 0:
        return "suggestions"
    digest = hashlib.sha256(f"{salt}:{session_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2 ** 64
    return "holdout" if position < share else "suggestions"


def session_minutes() -> int:
    return int(current_app.config.get("DEFLECTION_SESSION_MINUTES", 30))


# -- sessions -----------------------------------------------------------------------

def start_or_resume_session(*, visitor_id: str, page: str, user=None, user_agent: str | None = "",
                            now: datetime | None = None) -> AskSession | None:
    """The visitor's open ask session (active in the last 30 minutes), or a new one.

    ``None`` for known bots: they are never counted.  The visitor is the cookie, or
    the logged-in user on another device; logging in mid-session attaches the user.
    """
    if page not in ASK_PAGES:
        raise ValueError(f"page must be one of {ASK_PAGES}")
    if is_bot(user_agent):
        return None
    if not valid_visitor_id(visitor_id):
        raise ValidationError("Invalid visitor id.", field="visitor")
    now = now or utcnow()
    user_id = getattr(user, "id", None) if user is not None and getattr(user, "is_authenticated", True) else None
    owner = AskSession.visitor_id == visitor_id
    if user_id:
        owner = or_(owner, AskSession.user_id == user_id)
    cutoff = now - timedelta(minutes=session_minutes())
    session = db.session.execute(
        select(AskSession).where(owner, AskSession.last_activity_at >= cutoff,
                                 AskSession.started_at <= now)
        .order_by(case((AskSession.visitor_id == visitor_id, 0), else_=1),
                  AskSession.last_activity_at.desc()).limit(1)
    ).scalar()
    if session is not None:
        session.last_activity_at = max(session.last_activity_at, now)
        if user_id and session.user_id is None:
            session.user_id = user_id
        db.session.flush()
        return session
    session_id = new_token()
    session = AskSession(id=session_id, visitor_id=visitor_id, user_id=user_id, page=page,
                         arm=arm_for(session_id), started_at=now, last_activity_at=now)
    db.session.add(session)
    db.session.flush()
    return session


def owned_session(session_id: str | None, *, visitor_id: str | None, user_id: int | None = None) -> AskSession | None:
    """The session ``session_id`` if this visitor (cookie) or user owns it, else ``None``.

    Session ids travel in forms and links; checking the owner stops a shared link
    from writing events into someone else's session.
    """
    if not valid_session_id(session_id):
        return None
    session = db.session.get(AskSession, session_id)
    if session is None:
        return None
    if visitor_id and session.visitor_id == visitor_id:
        return session
    if user_id and session.user_id == user_id:
        return session
    return None


def save_draft(session: AskSession, fields: dict) -> None:
    """Keep what the visitor typed (title/subject and body only, bounded)."""
    keep = {}
    for key in ("title", "body", "tags", "category_id", "subject"):
        value = fields.get(key)
        if value not in (None, ""):
            keep[key] = str(value)[:5000]
    session.draft = keep or None


def last_query(session_id: str) -> str | None:
    """The most recent search the session made (a fallback for the typed title)."""
    return db.session.execute(
        select(AskEvent.query).where(AskEvent.session_id == session_id,
                                     AskEvent.kind == "suggestions_shown",
                                     AskEvent.query.is_not(None))
        .order_by(AskEvent.id.desc()).limit(1)
    ).scalar()


def session_queries(session_id: str) -> list[str]:
    """Every distinct query of the session, in order (a ticket's context)."""
    rows = db.session.execute(
        select(AskEvent.query).where(AskEvent.session_id == session_id,
                                     AskEvent.kind == "suggestions_shown")
        .order_by(AskEvent.id)
    ).scalars()
    seen, queries = set(), []
    for query in rows:
        if query and query not in seen:
            seen.add(query)
            queries.append(query)
    return queries


# -- events -------------------------------------------------------------------------

def record_event(session_id: str, kind: str, *, query: str | None = None, result_ids=None,
                 thread_id: int | None = None, idea_id: int | None = None,
                 ticket_id: int | None = None, at: datetime | None = None) -> None:
    """Append one event and mark the session active: one INSERT, one UPDATE by key."""
    if kind not in ASK_EVENT_KINDS:
        raise ValueError(f"kind must be one of {ASK_EVENT_KINDS}")
    at = at or utcnow()
    values = dict(session_id=session_id, kind=kind, thread_id=thread_id, idea_id=idea_id,
                  ticket_id=ticket_id, created_at=at)
    if kind == "suggestions_shown":
        ids = [str(r) for r in (result_ids or [])][:20]
        values.update(query=clean_query(query)[:500], normalized_query=normalize_query(query),
                      result_ids=ids, result_count=len(ids))
    # Core statements on the tables: no ORM bookkeeping on the request path.
    db.session.execute(insert(AskEvent.__table__).values(**values))
    sessions = AskSession.__table__
    db.session.execute(update(sessions).where(sessions.c.id == session_id,
                                              sessions.c.last_activity_at < at)
                       .values(last_activity_at=at))


def record_suggestions_shown(session_id: str, query: str, result_ids, *, at: datetime | None = None) -> bool:
    """Record what was shown, at most once per distinct (normalized) query per session.

    The browser debounces typing; this is the server-side debounce for retries,
    back-and-forth typing and the no-JavaScript preview.  Returns whether a row was added.
    """
    key = normalize_query(query)
    if not key:
        return False
    already = db.session.execute(
        select(AskEvent.id).where(AskEvent.session_id == session_id,
                                  AskEvent.kind == "suggestions_shown",
                                  AskEvent.normalized_query == key).limit(1)
    ).first()
    if already:
        return False
    record_event(session_id, "suggestions_shown", query=query, result_ids=result_ids, at=at)
    return True


def record_opened(session_id: str, target_type: str, target_id: int, *, at: datetime | None = None) -> None:
    if target_type not in ("thread", "idea"):
        raise ValidationError("Unknown suggestion type.", field="type")
    record_event(session_id, "suggestion_opened", at=at,
                 thread_id=target_id if target_type == "thread" else None,
                 idea_id=target_id if target_type == "idea" else None)


def record_confirmed(session_id: str, thread_id: int, *, at: datetime | None = None) -> bool:
    """"This solved my problem" on ``thread_id``; once per thread per session."""
    already = db.session.execute(
        select(AskEvent.id).where(AskEvent.session_id == session_id, AskEvent.kind == "confirmed",
                                  AskEvent.thread_id == thread_id).limit(1)
    ).first()
    if already:
        return False
    record_event(session_id, "confirmed", thread_id=thread_id, at=at)
    return True


def result_key(item: dict) -> str:
    """"thread:12" for a suggestion dict from search."""
    return f"{item.get('type')}:{item.get('id')}"


__all__ = [
    "ASK_ARMS", "arm_for", "clean_query", "is_bot", "last_query", "new_token", "normalize_query",
    "owned_session", "record_confirmed", "record_event", "record_opened",
    "record_suggestions_shown", "result_key", "save_draft", "session_queries",
    "start_or_resume_session", "valid_session_id", "valid_visitor_id",
]
