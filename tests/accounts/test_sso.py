"""Single sign-on against a real OpenID provider on 127.0.0.1 (tests/accounts/oidc_provider.py).

The app's test client starts each sign-in, ``requests`` follows the redirect to the
provider over HTTP, and the provider's redirect back is followed with the test client;
the app itself fetches discovery, the JWKS and the tokens from the provider over HTTP.
"""
from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from community import create_app
from community.extensions import db as _db
from community.models import AuditEntry, User
from community.services.accounts import users

from .oidc_provider import Provider


@pytest.fixture()
def provider():
    server = Provider()
    server.start()
    yield server
    server.stop()


def _config(tmp_path, provider, **extra) -> dict:
    return {
        "TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "DEFLECTION_HOLDOUT": 0,
        "OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": provider.client_id,
        "OIDC_CLIENT_SECRET": provider.client_secret, "OIDC_BUTTON_LABEL": "Sign in with Corp",
        **extra,
    }


@pytest.fixture()
def app(tmp_path, provider):
    """The conftest's app, with single sign-on at the test provider (``db``, ``client`` and
    ``make`` use this one)."""
    app = create_app(_config(tmp_path, provider))
    with app.app_context():
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()


def _to_provider(client, next_page=None):
    """Start a sign-in; return the provider's redirect back (its Location, parsed)."""
    start = client.get("/login/sso" + (f"?{urlencode({'next': next_page})}" if next_page else ""))
    assert start.status_code == 302, start.get_data(as_text=True)
    to = urlsplit(start.headers["Location"])
    assert (to.hostname, to.path) == ("127.0.0.1", "/authorize")
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert (back.netloc, back.path) == ("localhost", "/login/sso/callback")
    return back


def sign_in(client, next_page=None, **change_query):
    back = _to_provider(client, next_page)
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    query.update(change_query)
    return client.get(f"{back.path}?{urlencode(query)}")


def signed_in_as(client) -> str | None:
    """The username the site shows as signed in (its "Your profile" link), or None."""
    response = client.get("/settings")
    if response.status_code != 200:
        return None
    match = re.search(r'href="/users/([^"]+)">Your profile', response.get_data(as_text=True))
    return match.group(1) if match else None


def user_count() -> int:
    return _db.session.execute(select(func.count()).select_from(User)).scalar_one()


def test_first_sign_in_creates_the_member_and_goes_to_next(client, provider):
    response = sign_in(client, next_page="/questions?sort=votes")
    assert response.status_code == 302
    assert response.headers["Location"] == "/questions?sort=votes"
    user = _db.session.execute(select(User)).scalar_one()
    assert (user.username, user.email, user.role, user.display_name) == ("pat", "pat@corp.example", "member",
                                                                         "Pat Doe")
    assert (user.oidc_issuer, user.oidc_subject) == (provider.issuer, "emp-1001")
    assert signed_in_as(client) == "pat"


def test_the_start_sends_state_nonce_and_a_pkce_challenge(client, provider):
    start = client.get("/login/sso")
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["client_id"] == [provider.client_id]
    assert query["redirect_uri"] == ["http://localhost/login/sso/callback"]
    assert query["scope"] == ["openid email profile"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20 and query["code_challenge"][0]


def test_second_sign_in_finds_the_account_by_subject_not_by_email(app, client, provider):
    sign_in(client)
    first = _db.session.execute(select(User)).scalar_one()
    client.post("/logout")
    provider.person["email"] = "pat.doe@corp.example"  # the address changed at the company
    response = sign_in(client)
    assert response.status_code == 302
    assert user_count() == 1
    assert _db.session.execute(select(User)).scalar_one().id == first.id
    assert signed_in_as(client) == "pat"


def test_username_is_derived_valid_and_not_taken(client, provider, make):
    make.user("pat")
    provider.person["preferred_username"] = "pat"
    sign_in(client)
    provider.person.update(sub="emp-2", email="other@corp.example", preferred_username="Zoë O'Brien!")
    client.post("/logout")
    sign_in(client)
    provider.person.update(sub="emp-3", email="x@corp.example", preferred_username=None)
    client.post("/logout")
    sign_in(client)
    names = _db.session.execute(select(User.username).order_by(User.id)).scalars().all()
    assert names == ["pat", "pat-2", "ZoOBrien", "x_member"]


def test_a_verified_email_of_an_existing_account_asks_for_proof_before_linking(client, provider, make):
    local = make.user("patlocal")
    provider.person["email"] = "patlocal@example.com"
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login/sso/link"
    assert user_count() == 1
    assert _db.session.get(User, local.id).oidc_subject is None        # not joined yet: test_sso_link.py
    assert signed_in_as(client) is None


def test_an_unverified_email_does_not_link_and_nothing_is_created(client, provider, make):
    local = make.user("patlocal")
    provider.person.update(email="patlocal@example.com", email_verified=False)
    response = sign_in(client)
    assert response.status_code == 409
    assert "has not confirmed that the address is yours" in response.get_data(as_text=True)
    assert user_count() == 1
    assert _db.session.get(User, local.id).oidc_subject is None
    assert signed_in_as(client) is None


def test_no_confirmed_email_creates_nobody(client, provider):
    provider.person["email_verified"] = False
    response = sign_in(client)
    assert response.status_code == 403
    assert "did not share a confirmed email address" in response.get_data(as_text=True)
    assert user_count() == 0


def _role_changes():
    return [(e.before["role"], e.after["role"]) for e in _db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "user.role").order_by(AuditEntry.id)).scalars()]


def test_roles_follow_the_claim_at_every_sign_in_and_are_audited(app, client, provider):
    app.config.update(OIDC_ROLE_CLAIM="groups", OIDC_ROLE_MAP={"support": "agent", "pm": "product"})
    provider.person["groups"] = ["staff", "support"]
    sign_in(client)
    user = _db.session.execute(select(User)).scalar_one()
    assert user.role == "agent"
    for groups, role in ((["pm"], "product"), ("support", "agent"), (["pm", "support"], "agent"), ([], "member")):
        client.post("/logout")
        provider.person["groups"] = groups
        assert sign_in(client).status_code == 302
        assert _db.session.get(User, user.id).role == role, groups
    assert _role_changes() == [("member", "agent"), ("agent", "product"), ("product", "agent"),
                               ("agent", "member")]


def test_a_local_admin_is_kept_unless_the_map_gives_out_admin(app, client, provider, make):
    admin = make.user("patadmin", role="admin")
    moderator = make.user("patmod", role="moderator")
    # joined to their company identities already (joining asks for proof: test_sso_link.py)
    admin.oidc_issuer = moderator.oidc_issuer = provider.issuer
    admin.oidc_subject, moderator.oidc_subject = "emp-1001", "emp-2"
    _db.session.commit()
    app.config.update(OIDC_ROLE_CLAIM="groups", OIDC_ROLE_MAP={"support": "agent"})
    provider.person.update(email="patadmin@example.com", groups=["support"])
    sign_in(client)
    assert _db.session.get(User, admin.id).role == "admin"
    client.post("/logout")
    provider.person.update(sub="emp-2", email="patmod@example.com", groups=[])
    sign_in(client)
    assert _db.session.get(User, moderator.id).role == "moderator"  # appointed here, not by the map
    client.post("/logout")
    app.config["OIDC_ROLE_MAP"] = {"it-admins": "admin", "support": "agent"}
    provider.person.update(sub="emp-1001", email="patadmin@example.com", groups=["support"])
    sign_in(client)
    assert _db.session.get(User, admin.id).role == "agent"
    assert _role_changes() == [("admin", "agent")]


@pytest.mark.parametrize("tamper", ["signature", "nonce", "audience", "issuer", "expired"])
def test_a_token_that_does_not_verify_is_refused(client, provider, tamper):
    provider.tamper = tamper
    response = sign_in(client)
    assert response.status_code == 400
    assert "did not check out" in response.get_data(as_text=True)
    assert provider.token_requests == 1
    assert user_count() == 0
    assert signed_in_as(client) is None


def test_a_tampered_state_is_refused_before_the_code_is_used(client, provider):
    response = sign_in(client, state="forged-state-value")
    assert response.status_code == 400
    assert "was not started in this browser" in response.get_data(as_text=True)
    assert provider.token_requests == 0
    assert user_count() == 0


def test_a_callback_without_a_started_sign_in_is_refused(client):
    response = client.get("/login/sso/callback?code=abc&state=xyz")
    assert response.status_code == 400
    assert "Sign in with Corp" in response.get_data(as_text=True)  # back on the login page


def test_a_reused_code_is_refused(client, provider):
    first = _to_provider(client)
    code = parse_qs(first.query)["code"][0]
    assert client.get(f"{first.path}?{first.query}").status_code == 302
    client.post("/logout")
    second = _to_provider(client)
    state = parse_qs(second.query)["state"][0]
    response = client.get(f"{second.path}?{urlencode({'code': code, 'state': state})}")
    assert response.status_code == 400
    assert signed_in_as(client) is None


def test_denied_consent_and_a_wrong_secret_are_explained(client, provider):
    provider.tamper = "deny"
    response = sign_in(client)
    assert response.status_code == 403
    assert "was cancelled" in response.get_data(as_text=True)
    provider.tamper = None
    provider.client_secret = "rotated-at-the-provider"
    response = sign_in(client)
    assert response.status_code == 400
    assert user_count() == 0


def test_a_provider_that_is_down_is_a_clear_502(client, provider):
    provider.stop()
    response = client.get("/login/sso")
    assert response.status_code == 502
    assert "cannot be reached" in response.get_data(as_text=True)


def test_an_unsafe_next_is_dropped(client):
    response = sign_in(client, next_page="//evil.example/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_login_page_offers_the_button_and_the_password_form(client):
    page = client.get("/login?next=/questions").get_data(as_text=True)
    assert "Sign in with Corp" in page and "/login/sso?next=/questions" in page
    assert 'name="password"' in page and "Create an account" in page


def test_oidc_only_hides_the_password_from_members_but_not_from_staff(app, client, make):
    member, agent = make.user("member1"), make.user("agent1", role="agent")
    app.config["OIDC_ONLY"] = True
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Corp" in page
    assert 'name="password"' not in page and "Create an account" not in page
    assert client.get("/register").headers["Location"] == "/login"
    refused = client.post("/login", data={"login": member.username, "password": "password123"})
    assert refused.status_code == 403 and signed_in_as(client) is None
    assert 'name="password"' in client.get("/login?with_password=1").get_data(as_text=True)
    allowed = client.post("/login", data={"login": agent.username, "password": "password123",
                                          "with_password": "1"})
    assert allowed.status_code == 302 and signed_in_as(client) == "agent1"


@pytest.mark.parametrize("setting, message", [
    ({"OIDC_ISSUER": "ftp://idp.example"}, "OIDC_ISSUER must be the provider's https:// URL"),
    ({"OIDC_ISSUER": "http://idp.example"}, "http:// only on localhost"),
    ({"OIDC_CLIENT_SECRET": ""}, "OIDC_CLIENT_SECRET must be set"),
    ({"OIDC_SCOPES": "email profile"}, "must be a space-separated string that includes 'openid'"),
    ({"OIDC_ROLE_MAP": {"support": "agent"}}, "OIDC_ROLE_MAP needs OIDC_ROLE_CLAIM"),
    ({"OIDC_ROLE_CLAIM": "groups", "OIDC_ROLE_MAP": {"support": "superuser"}},
     "maps 'support' to 'superuser'; roles are: member, moderator, agent, product, admin"),
    ({"OIDC_ROLE_CLAIM": "groups", "OIDC_ROLE_MAP": ["support"]}, "must be a mapping"),
    ({"OIDC_BUTTON_LABEL": ""}, "OIDC_BUTTON_LABEL must be a short text"),
    ({"OIDC_ISSUER": None, "OIDC_ONLY": True}, "OIDC_ONLY needs OIDC_ISSUER"),
])
def test_a_bad_setting_stops_the_start(tmp_path, provider, setting, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_app(_config(tmp_path, provider, **setting))


def test_a_role_map_from_the_environment_is_read_as_json(tmp_path, provider, monkeypatch):
    monkeypatch.setenv("OIDC_ROLE_MAP", '{"pm": "product"}')
    monkeypatch.setenv("OIDC_ROLE_CLAIM", "groups")
    config = _config(tmp_path, provider)
    app = create_app(config)
    assert app.config["OIDC_ROLE_MAP"] == {"pm": "product"}


def test_without_an_issuer_there_is_no_button(tmp_path, provider):
    app = create_app(_config(tmp_path, provider, OIDC_ISSUER=None))
    assert "Sign in with Corp" not in app.test_client().get("/login").get_data(as_text=True)
    assert app.test_client().get("/login/sso").status_code == 404


def test_logout_ends_the_providers_session_too(client, provider, make):
    sign_in(client)
    response = client.post("/logout")
    assert response.status_code == 302
    at_provider = requests.get(response.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.headers["Location"] == "http://localhost/"
    [logout] = provider.logouts
    assert logout["client_id"] == provider.client_id
    assert logout["id_token_hint"].count(".") == 2  # the ID token it issued
    assert signed_in_as(client) is None
    local = make.user("local1")
    client.post("/login", data={"login": local.username, "password": "password123"})
    assert client.post("/logout").headers["Location"] == "/"  # a password session: only ours ends
    assert len(provider.logouts) == 1


def test_an_end_session_page_on_another_origin_is_reached_through_a_page_of_ours(app, client, provider):
    """The CSP's form-action names the issuer's origin only, and browsers check it on the redirects
    after the logout form: an end-session page elsewhere gets a page that refreshes to it."""
    provider.logout_base = f"http://localhost:{provider.port}"
    sign_in(client)
    response = client.post("/logout")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert f"form-action 'self' {provider.issuer};" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    target = page.split('<meta http-equiv="refresh" content="0; url=', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert target.startswith(f"http://localhost:{provider.port}/logout?") and f'href="{target}"'.replace(
        "&", "&amp;") in page
    at_provider = requests.get(target, allow_redirects=False, timeout=10)
    assert at_provider.headers["Location"] == "http://localhost/"
    [logout] = provider.logouts
    assert logout["client_id"] == provider.client_id and logout["id_token_hint"].count(".") == 2
    assert signed_in_as(client) is None
