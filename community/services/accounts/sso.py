"""Single sign-on: who a verified ID token's claims are here (docs/accounts.md, "Single sign-on").

The rules, in order:

1. A person is found by the issuer and ``sub`` stored on their account, never by email alone.
2. Not found, and an existing account has the same email: with ``email_verified`` the person
   must prove the account is theirs before the identity is joined to it (``LinkRequired``;
   ``sso_link.py``: its password or a mailed link); an unverified address that belongs to an
   account here is refused, so nobody takes over an account by typing its address at the
   provider.
3. Otherwise a member is created from the verified email, with a username derived from
   ``preferred_username`` (else the email's local part), made valid and de-duplicated; the
   member may change it once (``settings.change_username``).
4. With ``OIDC_ROLE_CLAIM`` set, the role follows ``OIDC_ROLE_MAP`` at every sign-in
   (``role_after``), and each change is written to the audit log.

The caller commits.  This module trusts its input: the token's signature, issuer, audience,
expiry and nonce were checked by ``community/oidc.py``.
"""
from __future__ import annotations

import re
import secrets

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import User
from ..errors import Conflict, PermissionDenied, ValidationError
from ..moderation import audit
from .sso_link import LinkRequired
from .users import EMAIL_RE, USERNAME_RE, hash_password


def sign_in(issuer: str, claims: dict) -> User:
    """The account for these claims: found or created, with its role brought up to date.
    ``LinkRequired`` when an existing account has the verified email (proof comes first)."""
    for _attempt in range(3):
        try:
            with db.session.begin_nested():
                user = _find_or_link(issuer, claims) or _create(issuer, claims)
            break
        except IntegrityError:
            continue  # a simultaneous first sign-in took the identity or the username: look again
    else:
        raise Conflict("Signing you in collided with another sign-in; please try again.")
    _apply_role(user, claims)
    return user


def _find_or_link(issuer: str, claims: dict) -> User | None:
    subject = str(claims["sub"])
    user = db.session.execute(
        select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject)
    ).scalar()
    if user is not None:
        return user
    email = _email(claims)
    existing = db.session.execute(select(User).where(User.email == email)).scalar() if email else None
    if existing is None:
        return None
    if not email_verified(claims):
        raise Conflict("An account here already uses this email address, and your company account has "
                       "not confirmed that the address is yours, so the two were not joined. Log in with "
                       "your password, or ask your company to confirm your email address.")
    if existing.oidc_subject is not None:
        raise Conflict("The account with this email address is already joined to another company "
                       "sign-in. Ask an administrator for help.")
    raise LinkRequired(existing, issuer, subject)   # joined only with proof (sso_link.py)


def _create(issuer: str, claims: dict) -> User:
    email = _email(claims)
    if not email or not email_verified(claims):
        raise PermissionDenied("Your company account did not share a confirmed email address, which an "
                        "account here needs. Ask your company's administrator to confirm it.")
    username = unique_username(claims.get("preferred_username") or email.split("@")[0])
    # No password anyone knows: the member signs in through the provider (a password reset
    # by email can give them one later).
    user = User(username=username, email=email, role="member", oidc_issuer=issuer, username_changeable=True,
                oidc_subject=str(claims["sub"]), password_hash=hash_password(secrets.token_urlsafe(32)),
                display_name=(claims.get("name") or None) and str(claims["name"])[:80])
    db.session.add(user)
    db.session.flush()
    return user


def email_verified(claims: dict) -> bool:
    """The provider vouches for the address: ``OIDC_EMAIL_VERIFIED_CLAIM`` (``email_verified``;
    Entra ID: ``xms_edov``) is true (a JSON true, or the string "true" some providers send)."""
    value = claims.get(current_app.config.get("OIDC_EMAIL_VERIFIED_CLAIM") or "email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _email(claims: dict) -> str | None:
    email = str(claims.get("email") or "").strip().lower()
    return email if EMAIL_RE.match(email) and len(email) <= 254 else None


def unique_username(wanted: str) -> str:
    """``wanted`` made a valid username (3-40 of letters, digits, ``_.-``), then ``-2``, ``-3``...
    until no account has it (case-insensitive)."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "", wanted or "").strip(".-")[:36] or "member"
    if len(base) < 3:
        base = f"{base}_member" if base else "member"
    for n in range(1, 1000):
        candidate = base if n == 1 else f"{base[:36 - len(str(n))]}-{n}"
        if not USERNAME_RE.match(candidate):
            raise ValidationError(f"Cannot derive a username from {wanted!r}.")
        taken = db.session.execute(
            select(User.id).where(func.lower(User.username) == candidate.lower())).first()
        if not taken:
            return candidate
    raise Conflict("No free username could be derived; please try again.")


def mapped_role(claims: dict) -> str | None:
    """The role ``OIDC_ROLE_MAP`` gives these claims: the first entry whose key is among the
    values of ``OIDC_ROLE_CLAIM`` (a string or a list), or None when no entry matches."""
    claim = current_app.config.get("OIDC_ROLE_CLAIM")
    values = claims.get(claim) if claim else None
    values = {str(v) for v in values} if isinstance(values, (list, tuple)) else (
        {str(values)} if values is not None else set())
    for key, role in current_app.config.get("OIDC_ROLE_MAP", {}).items():
        if key in values:
            return role
    return None


def role_after(current: str, matched: str | None, managed: set[str]) -> str:
    """The role a sign-in leaves: ``managed`` are the roles the map gives out.

    - An admin stays admin unless the map gives out "admin" itself (an admin made here is
      never downgraded by a provider that does not manage admins).
    - A matching entry sets its role.
    - No match: a role the map gives out is taken back (member); a role the map never gives
      out (a moderator appointed here) is kept.
    """
    if current == "admin" and "admin" not in managed:
        return current
    if matched is not None:
        return matched
    return "member" if current in managed else current


def role_claims(claims: dict) -> dict:
    """The part of the claims the role mapping reads (kept while a link waits for proof)."""
    claim = current_app.config.get("OIDC_ROLE_CLAIM")
    return {claim: claims[claim]} if claim and claim in claims else {}


def apply_role(user: User, claims: dict) -> None:
    """The mapping's role for these claims (``role_after``), audited when it changes."""
    _apply_role(user, claims)


def _apply_role(user: User, claims: dict) -> None:
    if not current_app.config.get("OIDC_ROLE_CLAIM"):
        return
    managed = set(current_app.config.get("OIDC_ROLE_MAP", {}).values())
    new = role_after(user.role, mapped_role(claims), managed)
    if new != user.role:
        audit.record(None, "user.role", "user", user.id, before={"role": user.role}, after={"role": new},
                     note="single sign-on: OIDC_ROLE_MAP")
        user.role = new
