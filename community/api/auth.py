"""Bearer-token authentication for the JSON API (no cookies: hence no CSRF)."""
from __future__ import annotations

from flask import g, request

from ..extensions import db
from ..services.accounts.users import user_for_token
from ..services.errors import NotAuthenticated


def load_token_user():
    """The user of the request's bearer token, ``None`` if none was sent.

    A token that is sent but unknown or revoked is an error even on public
    endpoints, so that a client learns its token is bad.
    """
    if "api_user" in g:
        return g.api_user
    header = request.headers.get("Authorization", "")
    user = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("Use the header: Authorization: Bearer TOKEN.")
        user, touched = user_for_token(token.strip())
        if user is None:
            raise NotAuthenticated("That token is not valid (unknown or revoked).")
        if touched:   # the token's "last used" time, apart from the request's own writes; a commit
            db.session.commit()   # only then: it would expire the user, read again by the next line
    g.api_user = user
    return user


def api_user():
    """The authenticated caller (after ``endpoint`` checked auth)."""
    return g.get("api_user")
