"""Joining a single sign-on identity to an account that already exists here, only with proof.

A first sign-in whose verified email belongs to an account here that has no identity yet
does not join them silently (whoever controls an identity provider account could otherwise
take over any local account with that address).  ``sso.sign_in`` raises ``LinkRequired``;
the person then proves the account is theirs, either with its password (``link_with_password``)
or by following a signed link mailed to the account's address (``request_link_email``,
``confirm_link``; salt ``sso-link-v1``, ``SSO_LINK_MAX_AGE_HOURS``).  The link dies when the
account's address changes or another identity is joined first.  Every join is audited
(``user.sso_link``, with how it was proven).  Callers commit.
"""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from ...extensions import db
from ...models import User
from ...urls import absolute_url
from ..errors import Conflict, NotFound, ValidationError
from ..locking import lock
from ..moderation import audit
from . import passwords

SALT = "sso-link-v1"


class LinkRequired(Exception):
    """The identity's verified email is an existing account's: ask for proof before joining."""

    def __init__(self, user: User, issuer: str, subject: str):
        super().__init__(f"account {user.id} needs proof before joining {issuer} {subject}")
        self.user_id, self.issuer, self.subject, self.email = user.id, issuer, subject, user.email


def link(user: User, issuer: str, subject: str, *, proof: str) -> User:
    """Store the identity on the account (under its row lock); ``Conflict`` if either is taken."""
    lock(User, user.id)
    db.session.refresh(user)
    if user.deleted_at is not None:
        raise NotFound("This account no longer exists.")
    if user.oidc_subject is not None:
        if (user.oidc_issuer, user.oidc_subject) == (issuer, subject):
            return user                   # joined already (the same link followed twice)
        raise Conflict("This account is already joined to another company sign-in. Ask an administrator.")
    other = db.session.execute(select(User.id).where(User.oidc_issuer == issuer, User.oidc_subject == subject)
                               ).scalar()
    if other is not None:
        raise Conflict("Your company sign-in is already joined to another account here.")
    user.oidc_issuer, user.oidc_subject = issuer, subject
    audit.record(user, "user.sso_link", "user", user.id, after={"issuer": issuer}, note=f"proven by {proof}")
    db.session.flush()
    return user


def pending_user(user_id) -> User:
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.deleted_at is not None:
        raise NotFound("This account no longer exists.")
    return user


def link_with_password(user: User, issuer: str, subject: str, password: str) -> User:
    if not passwords.matches(user.password_hash, password):
        raise ValidationError("That is not this account's password.", field="password")
    return link(user, issuer, subject, proof="password")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def request_link_email(user: User, issuer: str, subject: str, roles: dict | None = None):
    """Queue the mail whose link joins the identity to the account (to the account's address);
    ``roles``: the role claim, applied when the link is followed."""
    from ..mail import messages

    token = _serializer().dumps({"u": user.id, "email": user.email, "iss": issuer, "sub": subject,
                                 "roles": roles or {}})
    return messages.queue("sso_link_confirm", to=user.email, user=user, secret=True,
                          link=absolute_url(f"/login/sso/link/{token}"),
                          hours=current_app.config["SSO_LINK_MAX_AGE_HOURS"])


def read_link(token: str) -> tuple[User, str, str, dict]:
    """The account, issuer and subject of a valid link; ``ValidationError`` otherwise."""
    max_age = int(current_app.config["SSO_LINK_MAX_AGE_HOURS"] * 3600)
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ValidationError("This link has expired. Sign in with your company account again to get a new "
                              "one.", field="token") from None
    except BadSignature:
        raise ValidationError("This link is not valid.", field="token") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.deleted_at is not None or user.email != data.get("email"):
        raise ValidationError("This link no longer matches the account (its address changed).", field="token")
    return user, str(data["iss"]), str(data["sub"]), dict(data.get("roles") or {})


def confirm_link(token: str) -> User:
    """Join the identity named by a mailed link, then apply the role mapping as a sign-in would."""
    from . import sso

    user, issuer, subject, roles = read_link(token)
    link(user, issuer, subject, proof="email")
    sso.apply_role(user, roles)
    return user
