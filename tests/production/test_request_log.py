"""Request ids, the request log, ProxyFix and https-only cookies with HSTS."""
from __future__ import annotations

import logging

import pytest

from community import create_app


def _app(tmp_path, **extra):
    config = {"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t",
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}",
              "SEARCH_INDEX_DIR": str(tmp_path / "index"), "WTF_CSRF_ENABLED": False,
              "RATELIMIT_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    config.update(extra)
    app = create_app(config)
    with app.app_context():
        from community.extensions import db

        db.create_all()
    return app


def test_a_request_id_sent_by_the_balancer_is_returned_and_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="community.request"):
        response = client.get("/questions", headers={"X-Request-ID": "lb-7f3a.42:abc"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42:abc"
    [record] = [r for r in caplog.records if r.name == "community.request"]
    assert record.request_id == "lb-7f3a.42:abc"
    assert record.status == 200 and record.method == "GET" and record.path == "/questions"
    assert record.duration_ms >= 0
    assert "request_id=lb-7f3a.42:abc" in record.getMessage() and "ms=" in record.getMessage()


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "two words", "id;X-Evil=1", "ünïcode"])
def test_a_missing_or_implausible_request_id_is_replaced_by_a_fresh_one(client, sent):
    headers = {"X-Request-ID": sent} if sent is not None else {}
    first = client.get("/no-such-page", headers=headers).headers["X-Request-ID"]
    second = client.get("/no-such-page", headers=headers).headers["X-Request-ID"]
    assert len(first) == 32 and all(c in "0123456789abcdef" for c in first)
    assert first != second and first != sent


def test_the_log_names_the_signed_in_user_and_errors_too(client, make, login, caplog):
    user = make.user()
    login(user)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="community.request"):
        client.get("/notifications")
        client.get("/threads/999999")
    lines = [r for r in caplog.records if r.name == "community.request"]
    assert [(r.path, r.status, r.user_id) for r in lines] == [("/notifications", 200, user.id),
                                                               ("/threads/999999", 404, user.id)]


def test_health_checks_are_logged_at_debug_only(client, caplog):
    with caplog.at_level(logging.INFO, logger="community.request"):
        client.get("/healthz")
    assert [r for r in caplog.records if r.name == "community.request"] == []


def test_forwarded_headers_are_ignored_unless_proxies_are_trusted(tmp_path):
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    plain = _app(tmp_path / "a")
    seen = {}

    @plain.get("/_probe")
    def probe():
        from flask import request

        seen["addr"], seen["scheme"] = request.remote_addr, request.scheme
        return "ok"

    plain.test_client().get("/_probe", headers=headers)
    assert seen == {"addr": "127.0.0.1", "scheme": "http"}

    trusted = _app(tmp_path / "b", PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1)
    trusted.add_url_rule("/_probe", view_func=probe)
    trusted.test_client().get("/_probe", headers=headers)
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


def test_an_https_site_sets_secure_cookies_and_hsts(tmp_path):
    app = _app(tmp_path, PREFERRED_URL_SCHEME="https")
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    with app.app_context():
        from community.extensions import db
        from community.services.accounts import users

        users.create_user("alice", "alice@example.com", "password123")
        db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"login": "alice", "password": "password123", "remember": "y"},
                           base_url="https://localhost")
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c for c in cookies)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_an_http_site_sends_neither_secure_cookies_nor_hsts(tmp_path):
    app = _app(tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is False
    response = app.test_client().get("/")
    assert "Strict-Transport-Security" not in response.headers


def test_an_explicit_cookie_setting_wins_over_the_scheme(tmp_path):
    app = _app(tmp_path, PREFERRED_URL_SCHEME="https", SESSION_COOKIE_SECURE=False, HSTS_SECONDS=0)
    assert app.config["SESSION_COOKIE_SECURE"] is False and app.config["REMEMBER_COOKIE_SECURE"] is True
    assert "Strict-Transport-Security" not in app.test_client().get("/").headers


def _login_through(app, **kwargs):
    with app.app_context():
        from community.extensions import db
        from community.services.accounts import users

        users.create_user("alice", "alice@example.com", "password123")
        db.session.commit()
    return app.test_client().post("/login", data={"login": "alice", "password": "password123", "remember": "y"},
                                  **kwargs)


def test_https_said_by_a_trusted_proxy_gives_secure_cookies_and_hsts(tmp_path):
    app = _app(tmp_path, PROXY_FIX_X_PROTO=1)           # PREFERRED_URL_SCHEME stays http
    response = _login_through(app, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies} >= {"session", "remember_token"}
    assert all(c.endswith("; Secure") or "; Secure;" in c for c in cookies), cookies
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_https_said_by_an_untrusted_client_changes_nothing(tmp_path):
    response = _login_through(_app(tmp_path), headers={"X-Forwarded-Proto": "https"})
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and not any("Secure" in c for c in cookies)
    assert "Strict-Transport-Security" not in response.headers


def test_an_explicit_insecure_cookie_stays_so_behind_an_https_proxy(tmp_path):
    app = _app(tmp_path / "p", PROXY_FIX_X_PROTO=1, SESSION_COOKIE_SECURE=False)
    cookies = _login_through(app, headers={"X-Forwarded-Proto": "https"}).headers.getlist("Set-Cookie")
    by_name = {c.split("=", 1)[0]: c for c in cookies}
    assert "Secure" not in by_name["session"] and "Secure" in by_name["remember_token"]
