"""Email preferences per kind of event, watching and muting threads, one-click unsubscribe tokens.

Callers commit.  Writes are upserts under the row's primary key, so a repeated
request leaves one row with the last choice.
"""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select

from ...extensions import db
from ...models import (
    EMAIL_CHOICES,
    EMAIL_KINDS,
    WATCH_LEVELS,
    NotificationPreference,
    ThreadSubscription,
    User,
    utcnow,
)
from ..errors import ValidationError

UNSUBSCRIBE_SALT = "unsubscribe-v1"

#: What each kind is called on the settings page and in unsubscribe confirmations.
LABELS = {
    "reply": "Replies to my questions",
    "accepted": "My answer was accepted",
    "mention": "Someone mentioned me (@username)",
    "watching": "New posts in threads I watch",
}
#: The unsubscribe link of the digest turns off every kind that is in the digest.
DIGEST = "digest"
UNSUBSCRIBE_LABELS = {**LABELS, DIGEST: "The daily digest"}


def email_choice(user_id: int, kind: str) -> str:
    """``immediately``, ``digest`` or ``never`` for this user and kind (the default when unset)."""
    row = db.session.get(NotificationPreference, (user_id, kind))
    return row.email if row else EMAIL_KINDS[kind]


def choices(user_id: int) -> dict[str, str]:
    """Every kind's choice for the settings page (one query)."""
    stored = {row.kind: row.email for row in db.session.execute(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)).scalars()}
    return {kind: stored.get(kind, default) for kind, default in EMAIL_KINDS.items()}


def set_choice(user_id: int, kind: str, email: str) -> None:
    if kind not in EMAIL_KINDS:
        raise ValidationError(f"Unknown kind of email: {kind!r}.", field=kind)
    if email not in EMAIL_CHOICES:
        raise ValidationError(f"Choose one of: {', '.join(EMAIL_CHOICES)}.", field=kind)
    _upsert(NotificationPreference, {"user_id": user_id, "kind": kind}, {"email": email, "updated_at": utcnow()})


def set_choices(user_id: int, form: dict) -> dict[str, str]:
    """The settings form: every kind present in ``form``."""
    for kind in EMAIL_KINDS:
        if kind in form:
            set_choice(user_id, kind, form[kind])
    return choices(user_id)


# -- watching and muting ------------------------------------------------------------------

def watch_level(user_id: int, thread_id: int) -> str | None:
    row = db.session.get(ThreadSubscription, (user_id, thread_id))
    return row.level if row else None


def set_watch(user_id: int, thread_id: int, level: str | None) -> str | None:
    """``watching``, ``muted`` or None (neither: notified only as asker, answerer or mentioned)."""
    if level not in (*WATCH_LEVELS, None):
        raise ValidationError("Choose watching, muted or normal.", field="level")
    if level is None:
        db.session.execute(delete(ThreadSubscription).where(ThreadSubscription.user_id == user_id,
                                                            ThreadSubscription.thread_id == thread_id))
        return None
    _upsert(ThreadSubscription, {"user_id": user_id, "thread_id": thread_id}, {"level": level})
    return level


def _upsert(model, key: dict, values: dict) -> None:
    """Insert the row, or update it where its primary key exists: one atomic statement.

    Reading the row first and adding it when missing let two requests at once both find
    nothing (``SELECT ... FOR UPDATE`` locks no row that is not there yet), and the second
    insert was a primary-key violation, a 500.  ``ON CONFLICT DO UPDATE`` on both databases.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).values(**key, **values).on_conflict_do_update(index_elements=list(key), set_=values)
    db.session.execute(stmt)
    row = db.session.identity_map.get(db.session.identity_key(model, tuple(key.values())))
    if row is not None:
        db.session.expire(row)   # a row this session had loaded reads the stored choice again


def watch_by_default(user_id: int, thread_id: int) -> None:
    """Asking or answering watches the thread, unless the member already chose a level."""
    if db.session.get(ThreadSubscription, (user_id, thread_id)) is None:
        db.session.add(ThreadSubscription(user_id=user_id, thread_id=thread_id, level="watching"))
        db.session.flush()


def watchers(thread_id: int) -> list[int]:
    return list(db.session.execute(select(ThreadSubscription.user_id).where(
        ThreadSubscription.thread_id == thread_id, ThreadSubscription.level == "watching")).scalars())


def is_muted(user_id: int, thread_id: int | None) -> bool:
    return thread_id is not None and watch_level(user_id, thread_id) == "muted"


# -- one-click unsubscribe ---------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, kind: str) -> str:
    """Signed, needs no login, turns off exactly one kind of mail for one member."""
    return _serializer().dumps({"u": user_id, "k": kind})


def read_unsubscribe(token: str) -> tuple[User, str]:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        raise ValidationError("This unsubscribe link is not valid.", field="token") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or (data.get("k") not in EMAIL_KINDS and data.get("k") != DIGEST):
        raise ValidationError("This unsubscribe link is not valid.", field="token")
    return user, data["k"]


def unsubscribe(token: str) -> tuple[User, str]:
    """Turn the token's kind of mail off (idempotent); the digest's turns off every digest kind."""
    user, kind = read_unsubscribe(token)
    if kind == DIGEST:
        for each, choice in choices(user.id).items():
            if choice == "digest":
                set_choice(user.id, each, "never")
    else:
        set_choice(user.id, kind, "never")
    return user, kind
