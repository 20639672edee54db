"""Forgot password: a request that reveals nothing, a single-use link that expires, the reset.

``request_reset`` does the same work whether or not the address belongs to an
account: it queues one outbox row naming the address (channel ``email``, kind
``password_reset_request``) and nothing else, so the page, its status and its
timing cannot tell.  The mail worker resolves the row (``resolve_request``):
for an account it creates the token and renders the mail; for an unknown
address it sends nothing.  The link works once (a conditional UPDATE on
``used_at IS NULL``) and for ``PASSWORD_RESET_MAX_AGE_MINUTES`` (60) from the
request; using it ends every session of the account (``settings.set_password``)
and voids the account's other open links.  Nothing else is revoked (API tokens stay).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from ...extensions import db
from ...models import OutboxMessage, PasswordReset, User, utcnow
from ...urls import absolute_url
from ..errors import ValidationError
from ..mail import messages
from . import settings

KIND = "password_reset_request"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize(address: str) -> str:
    return " ".join((address or "").split()).lower()[:254]


def request_reset(address: str, ip: str | None) -> OutboxMessage:
    """Queue the request for the worker; the same single insert for every address."""
    message = OutboxMessage(channel=messages.CHANNEL, payload={
        "kind": KIND, "to": normalize(address), "ip": (ip or "")[:45],
        "requested_at": utcnow().isoformat()})
    db.session.add(message)
    return message


def resolve_request(payload: dict) -> dict | None:
    """Worker side: the mail to send for a queued request, or None (no such account, or too late).

    Creates the token row; the caller stores the returned payload in place of the request in the
    same transaction, so a retry sends the same link.
    """
    requested_at = datetime.fromisoformat(payload["requested_at"])
    expires_at = requested_at + timedelta(minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"])
    if expires_at <= utcnow():
        return None
    user = db.session.execute(select(User).where(func.lower(User.email) == payload["to"])).scalar()
    if user is None:
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordReset(user_id=user.id, token_hash=_hash(token), expires_at=expires_at,
                                 requested_ip=payload.get("ip") or None))
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"]
    return messages.payload_for("password_reset", to=user.email, user=user, secret=True,
                                link=absolute_url(f"/reset/{token}"), minutes=minutes,
                                ip=payload.get("ip") or "an unknown address",
                                forgot_url=absolute_url("/forgot"))


def _live(token: str):
    now = utcnow()
    return [PasswordReset.token_hash == _hash(token or ""), PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now]


def check_token(token: str) -> PasswordReset:
    """The open reset of ``token``; ``ValidationError`` for an unknown, used or expired one."""
    row = db.session.execute(select(PasswordReset).where(*_live(token))).scalar()
    if row is None:
        raise ValidationError("This reset link is not valid: it was already used, it expired (links work "
                              "for an hour), or it was mistyped. Ask for a new one.", field="token")
    return row


def reset_password(token: str, password: str, confirm: str) -> User:
    """Use the link once and set the password (which signs out every session of the account)."""
    row = check_token(token)
    user = db.session.get(User, row.user_id)
    if password != confirm:
        raise ValidationError("The two passwords do not match.", field="confirm")
    from . import passwords

    passwords.validate(password, username=user.username, email=user.email, field="password")
    used = db.session.execute(update(PasswordReset).where(PasswordReset.id == row.id, *_live(token))
                              .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if used != 1:   # another request used it a moment ago
        raise ValidationError("This reset link was just used. Ask for a new one if that was not you.",
                              field="token")
    db.session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id,
                                                   PasswordReset.used_at.is_(None))
                       .values(used_at=utcnow()).execution_options(synchronize_session=False))
    return settings.set_password(user, password)
