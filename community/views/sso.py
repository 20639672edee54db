"""Single sign-on pages: off to the identity provider and back (docs/accounts.md, "Single sign-on").

Both routes are 404 when ``OIDC_ISSUER`` is not set.  A sign-in that fails for any reason
(provider down, denied consent, wrong secret, reused code, mismatched state, a token that
does not verify, an account that cannot be joined) ends on the login page with a message
and a 4xx/502 status, and a warning in the ``community.sso`` log; nothing is kept.
"""
from __future__ import annotations

import logging

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_user

from .. import oidc
from ..extensions import db
from ..ratelimit import hit
from ..security_headers import origin
from ..services.accounts import sso, sso_link, users
from ..services.errors import RateLimited, ServiceError
from . import sso_link as link_views
from .util import safe_local_path, safe_next

bp = Blueprint("sso", __name__)
log = logging.getLogger("community.sso")

DEFAULT_LABEL = "Sign in with your company account"
_NEXT_KEY = "sso_next"
_ID_TOKEN_KEY = "sso_id_token"


def provider_logout():
    """After a local logout: the redirect that ends the provider's session too, when this session
    came from single sign-on and the provider offers RP-initiated logout; else None."""
    id_token = session.pop(_ID_TOKEN_KEY, None)
    if id_token is None or not oidc.enabled():
        return None
    url = oidc.logout_url(id_token, url_for("main.home", _external=True))
    if not url:
        return None
    if origin(url) == origin(current_app.config.get("OIDC_ISSUER")):
        return redirect(url)
    # Browsers check the CSP's ``form-action`` on every redirect after the logout form's POST, and
    # it names only the issuer's origin: an end-session page elsewhere is reached from a page of
    # ours instead (a meta refresh is a new navigation, which ``form-action`` does not govern).
    response = make_response(render_template("auth/provider_logout.html", url=url))
    response.headers["Cache-Control"] = "no-store"      # the URL carries the ID token as a hint
    return response


def login_options() -> dict:
    """What the login page offers: the provider's button, and whether members see a password form."""
    enabled = bool(current_app.config.get("OIDC_ISSUER"))
    return {"sso_enabled": enabled,
            "sso_label": current_app.config.get("OIDC_BUTTON_LABEL") or DEFAULT_LABEL,
            "sso_only": enabled and bool(current_app.config.get("OIDC_ONLY"))}


def login_page(**context):
    """The login page: the single sign-on button when configured, and the password form
    (hidden from members with OIDC_ONLY unless asked for with ``?with_password=1``, which staff use)."""
    options = login_options()
    show_password = not options["sso_only"] or request.values.get("with_password") == "1"
    context.setdefault("login", "")
    return render_template("auth/login.html", show_password=show_password, **options, **context)


def _failed(message: str, status: int):
    return login_page(error=message), status


def _limited():
    """``SSO_RATE_LIMIT`` per client address: each start and callback costs the provider a request."""
    try:
        hit("SSO_RATE_LIMIT")
    except RateLimited as exc:
        log.warning("sso: rate limited %s on %s", request.remote_addr, request.path)
        return _failed("Too many sign-in attempts from your network. Wait a minute, then try again.", exc.status)
    return None


@bp.get("/login/sso")
def start():
    if not oidc.enabled():
        abort(404)
    refused = _limited()
    if refused:
        return refused
    if current_user.is_authenticated:
        return redirect(safe_next(url_for("main.home")))
    session[_NEXT_KEY] = safe_next(url_for("main.home"))
    try:
        return oidc.authorize_redirect(url_for("sso.callback", _external=True))
    except oidc.SignInFailed as exc:
        log.warning("sso: cannot read the provider's configuration at %s: %r",
                    current_app.config["OIDC_ISSUER"], exc)
        return _failed(_UNREACHABLE, 502)


@bp.get("/login/sso/callback")
def callback():
    if not oidc.enabled():
        abort(404)
    refused = _limited()
    if refused:
        return refused
    try:
        claims, id_token = oidc.finish_sign_in()
    except oidc.SignInFailed as exc:
        return _protocol_failure(exc)
    try:
        user = sso.sign_in(oidc.issuer(), claims)
    except sso_link.LinkRequired as exc:
        db.session.rollback()
        log.info("sso: sub=%s matches account %s by email: asking for proof before joining", claims.get("sub"),
                 exc.user_id)
        link_views.remember(exc, claims, session.pop(_NEXT_KEY, None))
        return redirect(url_for("sso_link.choose"))
    except ServiceError as exc:
        db.session.rollback()
        log.warning("sso: sub=%s refused: %s", claims.get("sub"), exc.message)
        return _failed(exc.message, exc.status)
    login_user(user)
    session[_ID_TOKEN_KEY] = id_token
    users.touch_last_seen(user)
    db.session.commit()
    flash(f"Welcome, {user.username}.", "success")
    return redirect(safe_local_path(session.pop(_NEXT_KEY, None)) or url_for("main.home"))


_UNREACHABLE = "The company sign-in service cannot be reached right now. Try again in a few minutes."
_FAILURES = {
    "unreachable": (_UNREACHABLE, 502),
    "state": ("This sign-in link has expired or was not started in this browser. Please sign in again.", 400),
    "denied": ("The company sign-in was cancelled, so you are not signed in.", 403),
    "invalid": ("The company sign-in could not be completed (the answer from the sign-in service did not "
                "check out). Please sign in again; if it keeps happening, tell an administrator.", 400),
}


def _protocol_failure(exc: Exception):
    """The message a person understands for what went wrong, and a log line for the admin."""
    kind = oidc.failure_kind(exc)
    log.warning("sso: sign-in failed (%s): %s: %s", kind, type(exc).__name__, exc)
    return _failed(*_FAILURES[kind])
