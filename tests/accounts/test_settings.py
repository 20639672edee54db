"""The settings area: profile, password change (signs out other sessions), email change by
signed link, API tokens; and the password rules shared with sign-up."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from community.models import ApiToken, OutboxMessage, User, utcnow
from community.services.accounts import passwords


def _mails(db, to=None):
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "email")
                              .order_by(OutboxMessage.id)).scalars().all()
    return [m for m in rows if to is None or m.payload["to"] == to]


def _signed_in_as(client) -> str | None:
    page = client.get("/settings/password")
    if page.status_code != 200:
        return None
    return re.search(r'name="username" value="([^"]+)"', page.get_data(as_text=True)).group(1)


# -- profile ---------------------------------------------------------------------------

def test_profile_saves_sanitized_about_and_a_nofollow_website(client, make, login, db):
    carol = make.user("carol")
    login(carol)
    r = client.post("/settings", data={"display_name": "  Carol   Danvers ", "location": "Lyon",
                                       "website": "carol.example.com/blog",
                                       "about": "I fix **billing**.<script>alert(1)</script> [me](javascript:alert(2))"})
    assert r.status_code == 302 and r.headers["Location"] == "/settings"
    db.session.refresh(carol)
    assert (carol.display_name, carol.location, carol.website) == ("Carol Danvers", "Lyon",
                                                                   "https://carol.example.com/blog")
    assert "<strong>billing</strong>" in carol.about_html
    assert "<script" not in carol.about_html and "javascript:" not in carol.about_html
    page = client.get("/users/carol").get_data(as_text=True)
    assert '<a href="https://carol.example.com/blog" rel="nofollow ugc" class="website">' in page
    assert "Carol Danvers" in page and "@carol" in page and "<strong>billing</strong>" in page
    # The form shows what is stored.
    form = client.get("/settings").get_data(as_text=True)
    assert 'value="Carol Danvers"' in form and "I fix **billing**." in form


@pytest.mark.parametrize("field, value, message", [
    ("website", "javascript:alert(1)", "web address"),
    ("website", "ftp://files.example.com", "web address"),
    ("website", "https://localhost", "web address"),
    ("display_name", "x" * 81, "at most 80"),
    ("location", "y" * 101, "at most 100"),
    ("about", "z" * 5001, "at most 5,000"),
])
def test_profile_refuses_bad_fields_and_keeps_nothing(client, make, login, db, field, value, message):
    carol = make.user("carol")
    login(carol)
    form = {"display_name": "Carol", "about": "Hello", "location": "", "website": "", field: value}
    r = client.post("/settings", data=form)
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    db.session.refresh(carol)
    assert carol.display_name is None and carol.about == ""


def test_suspended_member_cannot_change_the_public_profile(client, make, login, db):
    carol = make.user("carol")
    carol.suspended_until = utcnow() + timedelta(days=3)
    db.session.commit()
    login(carol)
    r = client.post("/settings", data={"display_name": "Spam", "about": "buy now", "location": "", "website": ""})
    assert r.status_code == 403
    db.session.refresh(carol)
    assert carol.about == ""


# -- password --------------------------------------------------------------------------

@pytest.mark.parametrize("password, message", [
    ("short", "at least 8"),
    ("password123", "most common"),
    ("QWERTYUIOP", "most common"),
    ("carol123", "username or email"),
    ("carol@example.com", "username or email"),
    ("x" * 257, "at most 256"),
])
def test_password_rules_are_the_same_for_sign_up_and_change(client, make, login, password, message):
    r = client.post("/register", data={"username": "carol", "email": "carol@example.com",
                                       "password": password, "password2": password})
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    carol = make.user("carol")
    login(carol)
    r = client.post("/settings/password", data={"current": "password123", "new": password, "confirm": password})
    assert r.status_code == 400 and message in r.get_data(as_text=True)


def test_a_password_made_of_more_than_the_username_is_fine():
    passwords.COMMON_PASSWORDS  # noqa: B018 (the list exists and is small)
    assert len(passwords.COMMON_PASSWORDS) < 200
    from community import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        passwords.validate("carol and her seven cats", username="carol", email="carol@example.com")


def test_change_password_needs_the_current_one_and_signs_out_every_other_session(app, client, make, login, db):
    carol = make.user("carol")
    # Another browser that chose "remember me": keep only its remember cookie.
    laptop = app.test_client()
    laptop.post("/login", data={"login": "carol", "password": "password123", "remember": "1"})
    remember = laptop.get_cookie("remember_token").value
    phone = app.test_client()
    phone.set_cookie("remember_token", remember)
    assert _signed_in_as(phone) == "carol"       # the cookie alone signs in
    login(carol)

    wrong = client.post("/settings/password", data={"current": "nope-nope-nope", "new": "a fresh long secret",
                                                    "confirm": "a fresh long secret"})
    assert wrong.status_code == 400 and "current password is not right" in wrong.get_data(as_text=True)
    mismatch = client.post("/settings/password", data={"current": "password123", "new": "a fresh long secret",
                                                       "confirm": "another long secret"})
    assert mismatch.status_code == 400 and "do not match" in mismatch.get_data(as_text=True)
    assert _signed_in_as(laptop) == "carol"

    ok = client.post("/settings/password", data={"current": "password123", "new": "a fresh long secret",
                                                 "confirm": "a fresh long secret"})
    assert ok.status_code == 302
    assert _signed_in_as(client) == "carol"      # this browser stays signed in
    assert _signed_in_as(laptop) is None         # the other session ended
    fresh_phone = app.test_client()
    fresh_phone.set_cookie("remember_token", remember)
    assert _signed_in_as(fresh_phone) is None    # and so did the remember-me cookie
    db.session.refresh(carol)
    assert carol.session_version == 2
    assert client.post("/logout").status_code == 302
    assert client.post("/login", data={"login": "carol", "password": "password123"}).status_code == 400
    assert client.post("/login", data={"login": "carol", "password": "a fresh long secret"}).status_code == 302


def test_the_browser_that_changed_the_password_keeps_its_remember_me_cookie(app, make, db):
    make.user("carol")
    browser = app.test_client()
    browser.post("/login", data={"login": "carol", "password": "password123", "remember": "1"})
    old = browser.get_cookie("remember_token").value
    browser.post("/settings/password", data={"current": "password123", "new": "a fresh long secret",
                                             "confirm": "a fresh long secret"})
    new = browser.get_cookie("remember_token").value
    assert new != old
    restarted = app.test_client()
    restarted.set_cookie("remember_token", new)
    assert _signed_in_as(restarted) == "carol"


def test_sign_out_everywhere_else_ends_other_sessions_and_keeps_this_one_and_the_password(app, make, db):
    carol = make.user("carol")
    laptop = app.test_client()
    laptop.post("/login", data={"login": "carol", "password": "password123", "remember": "1"})
    remember = laptop.get_cookie("remember_token").value
    here = app.test_client()
    here.post("/login", data={"login": "carol", "password": "password123", "remember": "1"})
    mallory = make.user("mallory")
    bystander = app.test_client()
    bystander.post("/login", data={"login": "mallory", "password": "password123"})
    assert "Sign out everywhere else" in here.get("/settings/password").get_data(as_text=True)

    done = here.post("/settings/sessions/end-others")
    assert done.status_code == 302 and done.headers["Location"].endswith("/settings/password")
    assert _signed_in_as(here) == "carol"          # this browser stays signed in
    assert _signed_in_as(laptop) is None           # the other one is signed out
    copied = app.test_client()
    copied.set_cookie("remember_token", remember)
    assert _signed_in_as(copied) is None           # and so is its "remember me" cookie
    restarted = app.test_client()                  # this browser's own remember cookie was renewed
    restarted.set_cookie("remember_token", here.get_cookie("remember_token").value)
    assert _signed_in_as(restarted) == "carol"
    assert _signed_in_as(bystander) == "mallory"   # nobody else's sessions
    db.session.refresh(carol)
    db.session.refresh(mallory)
    assert (carol.session_version, mallory.session_version) == (2, 1)
    assert laptop.post("/login", data={"login": "carol", "password": "password123"}).status_code == 302


def test_sign_out_everywhere_else_needs_a_signed_in_browser_and_the_form_token(app, make, db):
    carol = make.user("carol")
    assert app.test_client().post("/settings/sessions/end-others").status_code in (302, 401)
    db.session.refresh(carol)
    assert carol.session_version == 1
    browser = app.test_client()
    browser.post("/login", data={"login": "carol", "password": "password123"})
    app.config["WTF_CSRF_ENABLED"] = True
    assert browser.post("/settings/sessions/end-others").status_code == 400
    db.session.refresh(carol)
    assert carol.session_version == 1


def test_wrong_current_passwords_are_rate_limited(app, client, make, login):
    app.config.update(RATELIMIT_ENABLED=True, PASSWORD_CHANGE_RATE_LIMIT="3 per hour")
    login(make.user("carol"))
    codes = [client.post("/settings/password", data={"current": f"guess number {i}", "new": "a fresh long secret",
                                                     "confirm": "a fresh long secret"}).status_code
             for i in range(5)]
    assert codes == [400, 400, 400, 429, 429]


# -- email -----------------------------------------------------------------------------

def _confirm_link(db, to: str) -> str:
    mail = _mails(db, to)[-1]
    match = re.search(r"(/settings/email/confirm/[\w.\-]+)", mail.payload["text"])
    assert match and match.group(1) in mail.payload["html"]
    return match.group(1)


def test_email_change_is_confirmed_by_a_link_sent_to_the_new_address(app, client, make, login, db):
    carol = make.user("carol")
    make.user("dave")
    login(carol)
    assert client.post("/settings/email", data={"email": "c@new.example", "password": "bad"}).status_code == 400
    taken = client.post("/settings/email", data={"email": "DAVE@example.com", "password": "password123"})
    assert taken.status_code == 409
    assert _mails(db) == []

    r = client.post("/settings/email", data={"email": "Carol@New.Example", "password": "password123"})
    assert r.status_code == 302
    db.session.refresh(carol)
    assert carol.email == "carol@example.com"                      # nothing changes yet
    notice = _mails(db, "carol@example.com")
    assert len(notice) == 1 and "c" in notice[0].payload["text"] and "carol@new.example" in notice[0].payload["text"]
    link = _confirm_link(db, "carol@new.example")

    stranger = app.test_client()                                     # the link works without signing in
    page = stranger.get(link)
    assert page.status_code == 200 and "carol@new.example" in page.get_data(as_text=True)
    db.session.refresh(carol)
    assert carol.email == "carol@example.com"                      # a GET changes nothing (mail scanners)
    assert stranger.post(link).status_code == 302
    db.session.refresh(carol)
    assert carol.email == "carol@new.example"
    again = stranger.post(link)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)


def test_email_change_link_expires_and_cannot_be_forged(app, client, make, login, db):
    carol = make.user("carol")
    login(carol)
    client.post("/settings/email", data={"email": "carol@new.example", "password": "password123"})
    link = _confirm_link(db, "carol@new.example")
    assert client.post(link[:-3] + "abc").status_code == 400
    with freeze_time(utcnow() + timedelta(hours=24, minutes=1)):
        expired = client.post(link)
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    db.session.refresh(carol)
    assert carol.email == "carol@example.com"


def test_email_taken_after_the_link_was_sent_is_a_conflict(app, client, make, login, db):
    carol = make.user("carol")
    login(carol)
    client.post("/settings/email", data={"email": "wanted@example.com", "password": "password123"})
    link = _confirm_link(db, "wanted@example.com")
    make.user("wanted")     # wanted@example.com
    assert app.test_client().post(link).status_code == 409
    db.session.refresh(carol)
    assert carol.email == "carol@example.com"


# -- API tokens ------------------------------------------------------------------------

def test_tokens_are_listed_by_name_and_last_use_and_revocable(app, client, make, login, db):
    carol = make.user("carol")
    login(carol)
    page = client.post("/settings/tokens", data={"name": "Invoice export"})
    token = re.search(r'<code class="token-value">(cst_[\w-]+)</code>', page.get_data(as_text=True)).group(1)
    listing = client.get("/settings/tokens").get_data(as_text=True)
    assert '<td data-label="Name">Invoice export</td>' in listing and "never" in listing and token not in listing

    api = app.test_client()
    assert api.get("/api/v1/categories", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    row = db.session.execute(select(ApiToken).where(ApiToken.user_id == carol.id)).scalar_one()
    assert row.last_used_at is not None and (utcnow() - row.last_used_at).total_seconds() < 60
    assert "never" not in client.get("/settings/tokens").get_data(as_text=True)

    dave = make.user("dave")
    login(dave)
    assert client.post(f"/settings/tokens/{row.id}/revoke").status_code == 404   # not dave's
    login(carol)
    assert client.post(f"/settings/tokens/{row.id}/revoke").status_code == 302
    db.session.refresh(row)
    revoked_at = row.revoked_at
    assert revoked_at is not None
    assert client.post(f"/settings/tokens/{row.id}/revoke").status_code == 302   # twice: idempotent
    db.session.refresh(row)
    assert row.revoked_at == revoked_at
    assert api.get("/api/v1/categories", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert '<td data-label="Name">Invoice export</td>' not in client.get("/settings/tokens").get_data(as_text=True)
    assert client.post("/settings/tokens", data={"name": "  "}).status_code == 400


def test_settings_pages_ask_anonymous_visitors_to_log_in(client):
    for path in ("/settings", "/settings/password", "/settings/email", "/settings/tokens"):
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/password").headers["Location"] == "/settings/password"
    assert client.get("/account").headers["Location"] == "/settings"
