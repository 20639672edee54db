"""Notifications by email: the preference decides (at once, in the digest, never).

``email_for(note)`` runs in the transaction of the event (called by
``services/notifications.notify``).  Every mail carries a one-click
unsubscribe for its kind (RFC 8058 headers and a footer link).
"""
from __future__ import annotations

from ...extensions import db
from ...models import EMAIL_KIND_OF, User
from ...urls import absolute_url
from ..accounts import preferences
from . import messages


def unsubscribe_headers(url: str) -> dict:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def email_for(note) -> bool:
    """Queue the mail for an in-app notification if its kind is emailed at once; True if queued."""
    kind = EMAIL_KIND_OF.get(note.kind)
    if kind is None or preferences.email_choice(note.user_id, kind) != "immediately":
        return False
    user = db.session.get(User, note.user_id)
    if user is None:
        return False
    unsubscribe_url = absolute_url(f"/unsubscribe/{preferences.unsubscribe_token(user.id, kind)}")
    messages.queue("notification", to=user.email, user=user, subject=note.message, message=note.message,
                   link=absolute_url(note.url), unsubscribe_url=unsubscribe_url,
                   kind_label=preferences.LABELS[kind], settings_url=absolute_url("/settings/notifications"),
                   headers=unsubscribe_headers(unsubscribe_url))
    return True
