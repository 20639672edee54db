"""Ask sessions and their events: cheap to record, so that measuring never slows a page.

An *ask session* is one visit to the Ask page or the Contact-support page by one
visitor (a long-lived cookie, plus the user when logged in).  Opening either page
within ``DEFLECTION_SESSION_MINUTES`` (30) of the session's last activity continues it;
later, a new session starts.  Each session is assigned once, by a salted hash of
its id, to the ``suggestions`` or the ``holdout`` arm (``DEFLECTION_HOLDOUT`` share).
Prefetches and bots get no session (counted as refused, ``guards.py``).

Recording an event is one INSERT plus one UPDATE by primary key; nothing else
happens on the request path.  Callers commit (views commit once).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, insert, or_, select, update

from ...extensions import db
from ...models import AskEvent, AskSession, utcnow
from ...models.metrics import ASK_ARMS, ASK_EVENT_KINDS, ASK_PAGES
from ..errors import ValidationError
from ..locking import advisory
from . import credit, guards, visitors
from .visitors import new_token, valid_visitor_id

SESSION_ID_RE = re.compile(r"^[0-9a-f]{32}$")
QUERY_MAX = 200


def valid_session_id(value: str | None) -> bool:
    return bool(value) and bool(SESSION_ID_RE.match(value))


def normalize_query(text: str | None) -> str:
    """The grouping key of a query: NFKC, lower case, single spaces, no edge punctuation."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"\s+", " ", text).strip(" \t\n.,;:!?¿¡\"'`()[]{}<>")
    return text[:QUERY_MAX]


def clean_query(text: str | None) -> str:
    """What the user typed, tidied and bounded; safe to hand to the search engine.

    Whitespace of any kind (a tab pasted between words) separates words; other control
    characters are dropped."""
    text = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in (text or ""))
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


def open_since(now: datetime) -> datetime:
    """The one boundary of a session's life: a session whose last activity is at or after this
    instant is still open (a page opened now continues it); one whose last activity is before it
    has ended (the credit job may judge it).  Exactly ``DEFLECTION_SESSION_MINUTES`` idle is open."""
    return now - timedelta(minutes=session_minutes())


# -- sessions -----------------------------------------------------------------------

def start_or_resume_session(*, visitor_id: str, page: str, user=None, address_key: str | None = None,
                            now: datetime | None = None) -> AskSession:
    """The visitor's open ask session (active in the last 30 minutes), or a new one.

    The visitor is the cookie, or the logged-in user on another device; logging in
    mid-session attaches the user.  Who may start a session at all is decided by
    ``session_for_request`` (prefetches, bots and cookieless streams are refused there).
    """
    if page not in ASK_PAGES:
        raise ValueError(f"page must be one of {ASK_PAGES}")
    if not valid_visitor_id(visitor_id):
        raise ValidationError("Invalid visitor id.", field="visitor")
    user_id = getattr(user, "id", None) if user is not None and getattr(user, "is_authenticated", True) else None
    owner = AskSession.visitor_id == visitor_id
    # One start at a time per visitor and member: two tabs opened at once found no session and
    # both started one (the member's lock first, in the same order whatever the cookie).  The
    # clock is read once the lock is held: a tab that waited must see the session started meanwhile.
    if user_id:
        owner = or_(owner, AskSession.user_id == user_id)
        advisory(f"ask-session:user:{user_id}")
    advisory(f"ask-session:visitor:{visitor_id}")
    now = now or utcnow()
    session = db.session.execute(
        select(AskSession).where(owner, AskSession.last_activity_at >= open_since(now),
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
                         arm=arm_for(session_id), started_at=now, last_activity_at=now,
                         address_key=address_key)
    db.session.add(session)
    db.session.flush()
    return session


def session_for_request(page: str, user=None) -> AskSession | None:
    """This request's ask session, or ``None`` (counted) when it is not a person's visit.

    Refused: prefetches, bots and link previewers, and, while automated traffic is
    excluded, cookieless page views from an address beyond
    ``DEFLECTION_NEW_VISITOR_RATE_LIMIT``.  Decided before the arm is assigned, so
    both arms are filtered by the same rule (intention to treat).
    """
    reason = visitors.refusal_reason()
    address = visitors.address_key()
    if reason is None and not visitors.has_cookie() and not visitors.user_id(user):
        if not guards.new_visitor_allowed(address):
            reason = "address_rate"
    if reason is not None:
        guards.count_refusal(reason)
        return None
    return start_or_resume_session(visitor_id=visitors.visitor_id(), page=page, user=user,
                                   address_key=address)


def request_session(session_id: str | None, user=None) -> AskSession | None:
    """The session ``session_id`` if the requesting visitor (cookie) or user owns it."""
    return owned_session(session_id, visitor_id=visitors.visitor_id(mint=False),
                         user_id=visitors.user_id(user))


def record_beacon(session: AskSession, *, at: datetime | None = None) -> None:
    """The page's script ran for this session (first time kept) and the visitor is active."""
    at = at or utcnow()
    sessions = AskSession.__table__
    db.session.execute(update(sessions).where(sessions.c.id == session.id, sessions.c.beacon_at.is_(None))
                       .values(beacon_at=at))
    db.session.execute(update(sessions).where(sessions.c.id == session.id,
                                              sessions.c.last_activity_at < at)
                       .values(last_activity_at=at))


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
                 thread_id: int | None = None, idea_id: int | None = None, article_id: int | None = None,
                 ticket_id: int | None = None, at: datetime | None = None) -> None:
    """Append one event and mark the session active: one INSERT, one UPDATE by key."""
    if kind not in ASK_EVENT_KINDS:
        raise ValueError(f"kind must be one of {ASK_EVENT_KINDS}")
    at = at or utcnow()
    values = dict(session_id=session_id, kind=kind, thread_id=thread_id, idea_id=idea_id,
                  article_id=article_id, ticket_id=ticket_id, created_at=at)
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
    # The same search sent twice at once (a retry, two tabs) both found no row and both
    # recorded it.  Writing the session's row first makes its writers wait for each other:
    # a row lock on PostgreSQL, the database's write lock on SQLite (a GET does not begin
    # its transaction IMMEDIATE); the check below then sees what the first one committed.
    sessions = AskSession.__table__
    db.session.execute(update(sessions).where(sessions.c.id == session_id)
                       .values(last_activity_at=sessions.c.last_activity_at))
    already = db.session.execute(
        select(AskEvent.id).where(AskEvent.session_id == session_id,
                                  AskEvent.kind == "suggestions_shown",
                                  AskEvent.normalized_query == key).limit(1)
    ).first()
    if already:
        return False
    record_event(session_id, "suggestions_shown", query=query, result_ids=result_ids, at=at)
    return True


def record_question_posted(session: AskSession | None, thread) -> None:
    """The session ended in a new community question (a contact)."""
    if session is not None:
        at = utcnow()
        record_event(session.id, "question_posted", thread_id=thread.id, at=at)
        session.draft = None
        credit.fail_after_contact(session, at)


def record_support_request(session: AskSession | None, ticket) -> None:
    """The session ended in a support request (a contact)."""
    if session is not None:
        at = utcnow()
        record_event(session.id, "support_request", ticket_id=ticket.id, at=at)
        session.draft = None
        credit.fail_after_contact(session, at)


def suggested_keys(session_id: str) -> set[str]:
    """Every ``thread:12`` / ``idea:3`` the session was shown."""
    keys: set[str] = set()
    for ids in db.session.execute(
        select(AskEvent.result_ids).where(AskEvent.session_id == session_id,
                                          AskEvent.kind == "suggestions_shown")
    ).scalars():
        keys.update(str(i) for i in ids or ())
    return keys


def result_key(item: dict) -> str:
    """"thread:12" for a suggestion dict from search."""
    return f"{item.get('type')}:{item.get('id')}"


__all__ = [
    "ASK_ARMS", "arm_for", "clean_query", "last_query", "normalize_query", "owned_session",
    "record_beacon", "record_event", "record_question_posted", "record_suggestions_shown",
    "record_support_request", "request_session", "result_key", "save_draft", "session_for_request",
    "session_queries", "start_or_resume_session", "suggested_keys", "valid_session_id",
]
