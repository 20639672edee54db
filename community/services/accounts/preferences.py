"""Preferences per kind of event (email at once, daily digest, in-app only, off), one-click
unsubscribe tokens.  Watching, tracking and muting live in ``subscriptions.py``.

Callers commit.  Writes are upserts under the row's primary key, so a repeated
request leaves one row with the last choice.
"""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from ...extensions import db
from ...models import (
    EMAIL_CHOICES,
    EMAIL_KINDS,
    NotificationPreference,
    User,
    utcnow,
)
from ..errors import ValidationError
from ..locking import upsert

UNSUBSCRIBE_SALT = "unsubscribe-v1"

#: What each kind is called on the settings page and in unsubscribe confirmations.
LABELS = {
    "reply": "Replies to my questions",
    "accepted": "My answer was accepted",
    "mention": "Someone mentioned me (@username)",
    "watching": "New posts in threads I watch, new questions where I watch",
    "idea": "Ideas I follow: status changes, official responses, comments",
    "ticket": "My support tickets: replies and status changes",
    "reminder": "Reminders to accept the answer that solved my question",
    "unanswered": "Questions nobody answered yet, where I watch",
}
#: The channels as the settings page names them.
CHOICE_LABELS = {"immediately": "Email at once", "digest": "Daily digest", "never": "On the site only",
                 "off": "Off"}
#: The unsubscribe link of the digest turns off every kind that is in the digest.
DIGEST = "digest"
UNSUBSCRIBE_LABELS = {**LABELS, DIGEST: "The daily digest"}


def email_choice(user_id: int, kind: str) -> str:
    """``immediately``, ``digest``, ``never`` (in-app only) or ``off`` for this user and kind
    (the default when unset)."""
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
    upsert(NotificationPreference, {"user_id": user_id, "kind": kind}, {"email": email, "updated_at": utcnow()})


def set_choices(user_id: int, form: dict) -> dict[str, str]:
    """The settings form: every kind present in ``form``."""
    for kind in EMAIL_KINDS:
        if kind in form:
            set_choice(user_id, kind, form[kind])
    return choices(user_id)


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
    """Turn the token's kind of mail off (idempotent; the in-app notification stays, unless the member
    had it off already); the digest's turns off every digest kind."""
    user, kind = read_unsubscribe(token)
    if kind == DIGEST:
        for each, choice in choices(user.id).items():
            if choice == "digest":
                set_choice(user.id, each, "never")
    elif email_choice(user.id, kind) != "off":
        set_choice(user.id, kind, "never")
    return user, kind
