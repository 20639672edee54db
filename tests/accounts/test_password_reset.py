"""Forgot password: the same answer for every address, a link by mail that works once and for an
hour, rate limits, and every other session signed out by the reset."""
from __future__ import annotations

import re
from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import func, select

from community.models import OutboxMessage, PasswordReset, utcnow
from community.services.mail import outbox


def _reset_path(smtp) -> str:
    mail = smtp.inbox.messages[-1]
    text = mail.get_body(("plain",)).get_content()
    path = re.search(r"http://[^/\s]+(/reset/[\w-]+)", text).group(1)
    assert path in mail.get_body(("html",)).get_content()
    return path


def _forgot(client, address):
    return client.post("/forgot", data={"email": address})


def _page(response) -> str:
    """The page without what differs by nature: the typed address and the CSRF token."""
    return re.sub(r'content="[^"]+"', "", response.get_data(as_text=True))


def test_known_and_unknown_addresses_get_the_same_answer_and_the_same_work(client, make, db, smtp):
    make.user("carol")
    known, unknown = _forgot(client, "carol@example.com"), _forgot(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert _page(known).replace("carol@example.com", "X") == _page(unknown).replace("nobody@example.com", "X")
    rows = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    assert [sorted(r.payload) for r in rows] == [["ip", "kind", "requested_at", "to"]] * 2   # one row each
    assert db.session.execute(select(func.count()).select_from(PasswordReset)).scalar_one() == 0
    assert outbox.send_due() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 1, "lost": 0}
    assert [m["To"] for m in smtp.inbox.messages] == ["carol@example.com"]
    assert db.session.execute(select(func.count()).select_from(PasswordReset)).scalar_one() == 1


def test_the_whole_reset_signs_out_other_sessions_and_the_link_works_once(app, client, make, db, smtp):
    carol = make.user("carol")
    laptop = app.test_client()
    laptop.post("/login", data={"login": "carol", "password": "password123", "remember": "1"})
    remember = laptop.get_cookie("remember_token").value
    _forgot(client, "Carol@Example.com ")
    outbox.send_due()
    path = _reset_path(smtp)
    assert client.get(path).status_code == 200
    weak = client.post(path, data={"password": "password1", "confirm": "password1"})
    assert weak.status_code == 400 and "most common" in weak.get_data(as_text=True)
    mismatch = client.post(path, data={"password": "a fresh long secret", "confirm": "other"})
    assert mismatch.status_code == 400 and "do not match" in mismatch.get_data(as_text=True)

    done = client.post(path, data={"password": "a fresh long secret", "confirm": "a fresh long secret"})
    assert done.status_code == 302
    assert client.get("/settings").status_code == 200          # signed in by the reset
    assert laptop.get("/settings").status_code == 302          # the old session is gone
    cookie_only = app.test_client()
    cookie_only.set_cookie("remember_token", remember)
    assert cookie_only.get("/settings").status_code == 302     # and so is its remember-me cookie
    again = app.test_client().post(path, data={"password": "another long secret", "confirm": "another long secret"})
    assert again.status_code == 400 and "not valid" in again.get_data(as_text=True)
    assert app.test_client().post("/login", data={"login": "carol", "password": "a fresh long secret"}).status_code == 302
    # The sent mail no longer holds the link in the outbox.
    sent = db.session.execute(select(OutboxMessage)).scalar_one()
    assert "/reset/" not in sent.payload["text"] and sent.payload["to"] == carol.email


def test_the_link_expires_after_an_hour(client, make, smtp):
    make.user("carol")
    _forgot(client, "carol@example.com")
    outbox.send_due()
    path = _reset_path(smtp)
    with freeze_time(utcnow() + timedelta(minutes=59)):
        assert client.get(path).status_code == 200
    with freeze_time(utcnow() + timedelta(minutes=61)):
        expired = client.post(path, data={"password": "a fresh long secret", "confirm": "a fresh long secret"})
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)


def test_a_request_whose_hour_passed_before_sending_sends_nothing(client, make, smtp):
    make.user("carol")
    _forgot(client, "carol@example.com")
    with freeze_time(utcnow() + timedelta(minutes=61)):
        assert outbox.send_due()["skipped"] == 1
    assert smtp.inbox.raw == []


def test_a_newer_link_and_the_reset_void_the_older_ones(client, make, smtp):
    make.user("carol")
    _forgot(client, "carol@example.com")
    _forgot(client, "carol@example.com")
    outbox.send_due()
    first = re.search(r"(/reset/[\w-]+)", smtp.inbox.messages[0].get_body(("plain",)).get_content()).group(1)
    second = _reset_path(smtp)
    assert first != second
    assert client.post(second, data={"password": "a fresh long secret", "confirm": "a fresh long secret"}).status_code == 302
    assert client.get(first).status_code == 400


def test_forged_tokens_are_refused(client):
    assert client.get("/reset/" + "A" * 43).status_code == 400
    assert client.post("/reset/x", data={"password": "a fresh long secret", "confirm": "a fresh long secret"}).status_code == 400


def test_requests_are_rate_limited_per_address_and_per_client(app, make, db):
    app.config.update(RATELIMIT_ENABLED=True, FORGOT_ADDRESS_RATE_LIMIT="2 per hour", FORGOT_IP_RATE_LIMIT="5 per hour")
    make.user("carol")
    one, other = app.test_client(), app.test_client()
    codes = [_forgot(one, "carol@example.com").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert _forgot(other, "carol@example.com").status_code == 429          # per address, from anywhere
    assert _forgot(other, "nobody@example.com").status_code == 200
    codes = [_forgot(one, f"n{i}@example.com").status_code for i in range(4)]
    assert codes == [200, 200, 429, 429]                                   # per client: 5 in all
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 5
