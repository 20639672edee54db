"""The OpenID Connect client (Authlib): the only module that talks to the identity provider.

Registered on the app when ``OIDC_ISSUER`` is set.  The provider's discovery document
(``<issuer>/.well-known/openid-configuration``) and its JWKS are fetched at the first sign-in
and kept for the process.  Authlib does the protocol: the authorization code flow with
PKCE (S256), ``state`` and ``nonce`` kept in the signed session, and the ID token's
signature (from the JWKS), issuer, audience, expiry and nonce checked.
"""
from __future__ import annotations

import logging

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc.errors import JoseError

log = logging.getLogger("community.sso")

#: Everything a failed sign-in can raise: a protocol error from the provider or Authlib
#: (denied consent, wrong secret, reused code, mismatched state), a token that does not
#: verify (signature, issuer, audience, expiry, nonce), or a provider that cannot be reached.
SignInFailed = (AuthlibBaseError, JoseError, requests.RequestException, ValueError, KeyError)


def init_app(app: Flask) -> None:
    if not app.config.get("OIDC_ISSUER"):
        return
    oauth = OAuth(app)
    issuer = app.config["OIDC_ISSUER"].rstrip("/")
    oauth.register(
        "oidc",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": app.config["OIDC_SCOPES"], "code_challenge_method": "S256", "default_timeout": 10},
    )
    app.extensions["oidc"] = oauth


def enabled() -> bool:
    return "oidc" in current_app.extensions


def client():
    return current_app.extensions["oidc"].oidc


def issuer() -> str:
    """The issuer as the provider names it (its discovery document), which ID tokens must carry."""
    return client().load_server_metadata()["issuer"]


def authorize_redirect(redirect_uri: str):
    """The redirect to the provider's sign-in page; state, nonce and PKCE verifier go to the session."""
    return client().authorize_redirect(redirect_uri)


def finish_sign_in() -> tuple[dict, str]:
    """Exchange the callback's code for tokens; return the verified ID token's claims and the
    raw token (kept for RP-initiated logout).

    Raises one of ``SignInFailed``.  The issuer must be the configured one.
    """
    configured = current_app.config["OIDC_ISSUER"].rstrip("/")
    if issuer().rstrip("/") != configured:
        raise ValueError(f"the provider names its issuer {issuer()!r}, not the configured {configured!r}")
    token = client().authorize_access_token(
        claims_options={"iss": {"essential": True, "values": [issuer()]}})
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        raise ValueError("the provider returned no ID token")
    return dict(claims), token["id_token"]


def logout_url(id_token: str | None, back_to: str) -> str | None:
    """Where to send a person who logged out here so that the provider ends its session too
    (RP-initiated logout), or None when the provider offers no ``end_session_endpoint``."""
    try:
        if not client().load_server_metadata().get("end_session_endpoint"):
            return None
        return client().create_logout_url(post_logout_redirect_uri=back_to, id_token_hint=id_token,
                                          client_id=current_app.config["OIDC_CLIENT_ID"])["url"]
    except SignInFailed as exc:
        log.warning("sso: no provider logout (cannot read its configuration): %r", exc)
        return None


def failure_kind(exc: Exception) -> str:
    """What a ``SignInFailed`` error means to a person: "unreachable" (the provider is down or
    slow), "state" (the callback does not belong to a sign-in started in this browser),
    "denied" (the person or the provider refused consent) or "invalid" (anything that did not
    verify: a wrong client secret, a reused code, a bad signature, issuer, audience, expiry or nonce)."""
    from authlib.integrations.base_client import MismatchingStateError, OAuthError

    if isinstance(exc, requests.RequestException):
        return "unreachable"
    if isinstance(exc, MismatchingStateError):
        return "state"
    if isinstance(exc, OAuthError) and exc.error == "access_denied":
        return "denied"
    return "invalid"
