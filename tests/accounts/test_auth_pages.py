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


def test_anonymous_vote_goes_to_login_and_back_to_the_thread(client, make):
    thread = make.thread()
    answer = make.reply(thread)
    r = client.post(f"/posts/{answer.id}/vote", data={"value": 1})
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    assert f"/threads/{thread.id}/" in r.headers["Location"].replace("%2F", "/")
    r = client.post(f"/posts/{answer.id}/vote", data={"value": 1}, headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.get_json()["error"]["message"] == "Log in to vote."


def test_suspended_members_read_but_are_told_why_they_cannot_post(client, db, make, login):
    from datetime import timedelta

    from community.models import utcnow

    user = make.user("paused")
    user.suspended_until = utcnow() + timedelta(days=3)
    user.suspension_reason = "Repeated spam"
    db.session.commit()
    thread = make.thread()
    login(user)
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "you can read, but not answer" in page and 'id="reply-body"' not in page
    r = client.get("/ask")
    assert r.status_code == 403 and "suspended until" in r.get_data(as_text=True) and "Repeated spam" in r.get_data(as_text=True)
    r = client.post(f"/threads/{thread.id}/reply", data={"body": "Trying anyway."})
    assert r.status_code == 403 and "suspended" in r.get_data(as_text=True)


def test_registration_is_rate_limited_per_address(app, client):
    app.config.update(RATELIMIT_ENABLED=True, REGISTER_RATE_LIMIT="2 per hour")
    codes = []
    for i in range(3):
        client.post("/logout")
        codes.append(client.post("/register", data={"username": f"signup{i}", "email": f"s{i}@example.com",
                                                    "password": "long-enough", "password2": "long-enough"}).status_code)
    assert codes == [302, 302, 429]
