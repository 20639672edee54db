"""Register, log in (remember me), log out, safe redirects, and JSON errors for page scripts."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from community.models import User


def test_register_logs_in_and_rejects_bad_input(client, db):
    r = client.post("/register", data={"username": "newbie", "email": "New@Example.com",
                                       "password": "long-enough", "password2": "long-enough"})
    assert r.status_code == 302
    assert "newbie" in client.get("/").get_data(as_text=True)
    user = db.session.execute(select(User).where(User.username == "newbie")).scalar_one()
    assert user.email == "new@example.com" and user.role == "member" and user.password_hash != "long-enough"
    client.post("/logout")
    for data, message in (
        ({"username": "newbie", "email": "x@example.com"}, "taken"),
        ({"username": "other", "email": "new@example.com"}, "already exists"),
        ({"username": "a", "email": "y@example.com"}, "Usernames are"),
        ({"username": "third", "email": "not-an-email"}, "valid email"),
        ({"username": "fourth", "email": "z@example.com", "password2": "different!"}, "do not match"),
    ):
        form = {"password": "long-enough", "password2": "long-enough", **data}
        r = client.post("/register", data=form)
        assert r.status_code == 400 and message in r.get_data(as_text=True), message
    assert len(db.session.execute(select(User)).all()) == 1


def test_login_with_username_or_email_remember_and_logout(client, make):
    make.user("carol")
    r = client.post("/login", data={"login": "CAROL@example.com", "password": "password123", "remember": "1"})
    assert r.status_code == 302
    assert any(c.key == "remember_token" for c in client._cookies.values())
    assert "Log out" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    assert "Log in" in client.get("/").get_data(as_text=True)
    r = client.post("/login", data={"login": "carol", "password": "wrong-password"})
    assert r.status_code == 400 and "do not match" in r.get_data(as_text=True)


@pytest.mark.parametrize("target, safe", [
    ("/threads/1/x", True), ("https://evil.example/", False), ("//evil.example/", False),
    ("/\\evil.example", False), ("/\t/evil.example", False), ("/\n/evil.example", False),
    ("javascript:alert(1)", False),
])
def test_login_redirects_only_to_local_paths(client, make, target, safe):
    make.user("carol")
    r = client.post("/login", data={"login": "carol", "password": "password123", "next": target})
    location = r.headers["Location"]
    assert (location == target) is safe
    if not safe:
        assert location == "/"


def test_page_scripts_get_json_errors(client, app, make, login):
    app.config.update(RATELIMIT_ENABLED=True, VOTE_RATE_LIMIT="1 per minute")
    thread = make.thread()
    answers = [make.reply(thread), make.reply(thread)]
    login(make.user("voter"))
    json = {"Accept": "application/json"}
    assert client.post(f"/posts/{answers[0].id}/vote", data={"value": 1}, headers=json).get_json()["score"] == 1
    r = client.post(f"/posts/{answers[1].id}/vote", data={"value": 1}, headers=json)
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
