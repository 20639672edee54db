"""Joining a company sign-in to an existing account only with proof: the account's password, or a
link mailed to its address; and the rate limit on the single sign-on pages."""
from __future__ import annotations

import re

from sqlalchemy import select

from community.extensions import db as _db
from community.models import AuditEntry, OutboxMessage, User

from .test_sso import app, provider, sign_in, signed_in_as, user_count  # noqa: F401 (fixtures)


def _pending(client, provider, make, **person):
    local = make.user("patlocal", password="local-secret-42")
    provider.person.update(email="patlocal@example.com", **person)
    assert sign_in(client, next_page="/questions").headers["Location"] == "/login/sso/link"
    return local


def _link_audit():
    return _db.session.execute(select(AuditEntry).where(AuditEntry.action == "user.sso_link")).scalars().all()


def test_the_local_password_joins_the_identity_and_signs_in(client, provider, make):
    local = _pending(client, provider, make)
    page = client.get("/login/sso/link").get_data(as_text=True)
    assert "p•••••••@example.com" in page and "patlocal@example.com" not in page
    wrong = client.post("/login/sso/link", data={"password": "not-it"})
    assert wrong.status_code == 400 and "That is not this account" in wrong.get_data(as_text=True)
    assert _db.session.get(User, local.id).oidc_subject is None
    right = client.post("/login/sso/link", data={"password": "local-secret-42"})
    assert right.status_code == 302 and right.headers["Location"] == "/questions"
    _db.session.expire_all()
    linked = _db.session.get(User, local.id)
    assert (linked.oidc_issuer, linked.oidc_subject) == (provider.issuer, "emp-1001")
    assert signed_in_as(client) == "patlocal" and user_count() == 1
    [entry] = _link_audit()
    assert entry.target_id == local.id and entry.note == "proven by password"
    client.post("/logout")
    assert sign_in(client).status_code == 302 and signed_in_as(client) == "patlocal"   # found by sub now


def test_a_mailed_link_joins_the_identity_once_and_only_for_that_address(client, provider, make, app):
    local = _pending(client, provider, make)
    sent = client.post("/login/sso/link", data={"send_email": "1"})
    assert sent.status_code == 200 and "We are sending a link" in sent.get_data(as_text=True)
    assert signed_in_as(client) is None and _db.session.get(User, local.id).oidc_subject is None
    [mail] = [m for m in _db.session.execute(select(OutboxMessage)).scalars()
              if m.payload["template"] == "sso_link_confirm"]
    assert mail.payload["to"] == "patlocal@example.com" and mail.payload["secret"] is True
    path = re.search(r"http://localhost(/login/sso/link/\S+)", mail.payload["text"]).group(1)
    other_browser = app.test_client()
    assert "Join and sign in" in other_browser.get(path).get_data(as_text=True)
    assert _db.session.get(User, local.id).oidc_subject is None          # GET changes nothing
    assert other_browser.post(path).status_code == 302
    _db.session.expire_all()
    assert _db.session.get(User, local.id).oidc_subject == "emp-1001"
    assert signed_in_as(other_browser) == "patlocal"
    assert _link_audit()[0].note == "proven by email"
    forged = other_browser.post(path[:-3] + "abc")
    assert forged.status_code == 400


def test_a_mailed_link_dies_when_the_address_changes(client, provider, make, app):
    local = _pending(client, provider, make)
    client.post("/login/sso/link", data={"send_email": "1"})
    [mail] = [m for m in _db.session.execute(select(OutboxMessage)).scalars()
              if m.payload["template"] == "sso_link_confirm"]
    path = re.search(r"http://localhost(/login/sso/link/\S+)", mail.payload["text"]).group(1)
    local.email = "moved@example.com"
    _db.session.commit()
    response = app.test_client().post(path)
    assert response.status_code == 400 and "no longer matches" in response.get_data(as_text=True)
    assert _db.session.get(User, local.id).oidc_subject is None


def test_nothing_waits_to_be_joined_without_a_sign_in(client):
    response = client.post("/login/sso/link", data={"password": "x"})
    assert response.status_code == 400 and "Nothing is waiting" in response.get_data(as_text=True)


def test_wrong_passwords_count_against_the_accounts_login_limit(client, provider, make, app):
    _pending(client, provider, make)
    app.config.update(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    statuses = [client.post("/login/sso/link", data={"password": "guess"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_the_sign_in_pages_are_rate_limited_per_client(client, provider, app):
    app.config.update(RATELIMIT_ENABLED=True, SSO_RATE_LIMIT="3 per minute")
    statuses = [client.get("/login/sso").status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert "Too many sign-in attempts" in client.get("/login/sso/callback?code=x&state=y").get_data(as_text=True)


def test_the_logout_forms_redirect_to_the_provider_is_allowed_by_the_csp(client, provider):
    """Browsers check form-action on the redirect after POST /logout (RP-initiated logout)."""
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert f"form-action 'self' {provider.issuer};" in policy


def test_another_claim_can_vouch_for_the_email(client, provider, app):
    """Entra ID sends ``xms_edov`` instead of ``email_verified``."""
    app.config["OIDC_EMAIL_VERIFIED_CLAIM"] = "xms_edov"
    provider.person.update(email_verified=False, xms_edov=True)
    assert sign_in(client).status_code == 302 and signed_in_as(client) == "pat"


def test_a_derived_username_can_be_changed_once(client, provider, make):
    make.user("taken-name")
    assert sign_in(client).status_code == 302 and signed_in_as(client) == "pat"
    assert "you can change it once" in client.get("/settings").get_data(as_text=True)
    assert client.post("/settings/username", data={"username": "Taken-Name"}).status_code == 409
    assert client.post("/settings/username", data={"username": "no spaces"}).status_code == 400
    assert client.post("/settings/username", data={"username": "pat.doe"}).status_code == 302
    assert signed_in_as(client) == "pat.doe"
    assert client.post("/settings/username", data={"username": "pat-again"}).status_code == 403
    assert "stays as it is" in client.get("/settings").get_data(as_text=True)
