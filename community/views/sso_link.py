"""Joining a company sign-in to an account that already exists here: its password, or a mailed link.

``views/sso.py`` sends the browser here (``/login/sso/link``) when the provider's verified email
is an existing account's; the identity waits in the signed session for ``PENDING_MINUTES``.
"""
from __future__ import annotations

import time

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import login_user

from .. import oidc
from ..extensions import db
from ..ratelimit import hit
from ..services.accounts import sso, sso_link, users
from ..services.errors import ServiceError, ValidationError
from .actions import commit
from .util import safe_local_path

bp = Blueprint("sso_link", __name__)

PENDING_KEY = "sso_pending_link"
PENDING_MINUTES = 15


def remember(exc: sso_link.LinkRequired, claims: dict, next_page: str | None) -> None:
    """Keep the identity that waits for proof (signed session), with where to go afterwards."""
    session[PENDING_KEY] = {"u": exc.user_id, "iss": exc.issuer, "sub": exc.subject, "at": int(time.time()),
                            "roles": sso.role_claims(claims), "next": next_page}


def _pending() -> dict:
    pending = session.get(PENDING_KEY)
    if not oidc.enabled():
        abort(404)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_MINUTES * 60:
        session.pop(PENDING_KEY, None)
        raise ValidationError("Nothing is waiting to be joined (or it took too long). Sign in with your company "
                              "account again.", field="form")
    return pending


def _masked(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}{'•' * max(len(name) - 1, 2)}@{domain}"


def _page(status=200, **context):
    return render_template("auth/sso_link.html", **context), status


@bp.route("/login/sso/link", methods=["GET", "POST"])
def choose():
    """The account's password joins at once; "email me a link" sends one to the account's address."""
    try:
        pending = _pending()
        user = sso_link.pending_user(pending["u"])
    except ServiceError as exc:
        return _page(exc.status, error=exc, expired=True)
    if request.method == "GET":
        return _page(email=_masked(user.email))

    def join():
        hit("LOGIN_RATE_LIMIT", key=f"account:{user.id}")    # the same bucket as the login form
        if request.form.get("send_email"):
            sso_link.request_link_email(user, pending["iss"], pending["sub"], pending.get("roles"))
            return None
        sso_link.link_with_password(user, pending["iss"], pending["sub"], request.form.get("password", ""))
        sso.apply_role(user, pending.get("roles") or {})
        users.touch_last_seen(user)
        return user

    outcome = commit(join)
    if outcome.error:
        return _page(outcome.error.status, error=outcome.error, email=_masked(user.email))
    if outcome.value is None:
        session.pop(PENDING_KEY, None)
        return _page(sent=True, email=_masked(user.email))
    session.pop(PENDING_KEY, None)
    login_user(outcome.value)
    flash(f"Your company sign-in is joined to your account, {outcome.value.username}.", "success")
    return redirect(safe_local_path(pending.get("next")) or url_for("main.home"))


@bp.route("/login/sso/link/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """The mailed link: GET shows a button (mail scanners open links), POST joins and signs in."""
    if not oidc.enabled():
        abort(404)
    try:
        user, *_ = sso_link.read_link(token)
    except ServiceError as exc:
        return _page(exc.status, error=exc, expired=True)
    if request.method == "GET":
        return _page(confirming=True, username=user.username, token=token)
    outcome = commit(lambda: sso_link.confirm_link(token))
    if outcome.error:
        return _page(outcome.error.status, error=outcome.error, expired=True)
    login_user(outcome.value)
    users.touch_last_seen(outcome.value)
    db.session.commit()
    flash(f"Your company sign-in is joined to your account, {outcome.value.username}.", "success")
    return redirect(url_for("main.home"))
