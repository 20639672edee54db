"""The outbox and the mail worker against a real SMTP server on 127.0.0.1 (aiosmtpd)."""
from __future__ import annotations

import threading
from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from community import mail
from community.models import OutboxMessage, utcnow
from community.services.mail import messages, outbox


def _queue(db, make, n=1, headers=None):
    user = make.user()
    rows = [messages.queue("email_change_notice", to=f"reader{i}@example.com", user=user,
                           new_email="x@example.com", settings_url="http://localhost/settings/password",
                           headers=headers) for i in range(n)]
    db.session.commit()
    return rows


def _rows(db):
    db.session.expire_all()
    return db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "email")
                              .order_by(OutboxMessage.id)).scalars().all()


def test_a_settings_change_mail_arrives_with_both_parts(client, make, login, db, smtp, app):
    login(make.user("carol"))
    client.post("/settings/email", data={"email": "carol@new.example", "password": "password123"})
    assert smtp.inbox.raw == []                     # no page waits on SMTP
    assert outbox.send_due() == {"sent": 2, "retry": 0, "failed": 0, "skipped": 0, "lost": 0}
    by_to = {m["To"]: m for m in smtp.inbox.messages}
    confirm = by_to["carol@new.example"]
    assert confirm["Subject"] == "Confirm your new email address for Support Community"
    assert confirm["From"] == "Support Community <community@example.com>"
    assert confirm.get_content_type() == "multipart/alternative"
    text, html = confirm.get_body(("plain",)).get_content(), confirm.get_body(("html",)).get_content()
    assert "/settings/email/confirm/" in text and "/settings/email/confirm/" in html and "<a href=" in html
    assert {env[1][0] for env in smtp.inbox.envelopes} == {"carol@new.example", "carol@example.com"}
    assert all(r.sent_at is not None and r.attempts == 1 and r.claimed_by is None for r in _rows(db))
    assert outbox.send_due()["sent"] == 0           # sent once, never again


def test_long_unsubscribe_headers_are_written_raw(db, make, smtp):
    url = "https://community.example.com/unsubscribe/" + "a" * 180
    _queue(db, make, headers={"List-Unsubscribe": f"<{url}>",
                              "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    outbox.send_due()
    raw = smtp.inbox.raw[0].decode()
    assert f"List-Unsubscribe: <{url}>\r\n" in raw
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert "=?utf-8?" not in raw.split("\r\n\r\n", 1)[0].lower().replace("subject", "")


def test_nothing_is_lost_while_the_server_is_down_and_retries_back_off(db, make, smtp, app):
    _queue(db, make, n=3)
    smtp.stop()
    start = utcnow()
    assert outbox.send_due() == {"sent": 0, "retry": 3, "failed": 0, "skipped": 0, "lost": 0}
    end = utcnow()   # connecting to a stopped server takes real time, more on a loaded machine
    rows = _rows(db)
    assert [r.attempts for r in rows] == [1, 1, 1]
    assert all(r.last_error and "Connection" in r.last_error for r in rows)
    # Retried 30 s after the failure, which happened between start and end.
    wait = timedelta(seconds=30)
    assert all(start + wait - timedelta(seconds=1) <= r.available_at <= end + wait + timedelta(seconds=1)
               for r in rows)
    assert outbox.send_due()["retry"] == 0          # not due yet: no hammering
    second = end + timedelta(seconds=31)
    with freeze_time(second):
        assert outbox.send_due()["retry"] == 3      # second failure: the wait doubles
    rows = _rows(db)
    assert all(59 <= (r.available_at - second).total_seconds() <= 61 for r in rows)

    smtp.start()                                     # the server is back
    with freeze_time(second + timedelta(seconds=64)):
        assert outbox.send_due()["sent"] == 3
    assert sorted(m["To"] for m in smtp.inbox.messages) == [f"reader{i}@example.com" for i in range(3)]
    assert all(r.sent_at and r.attempts == 3 and r.last_error is None for r in _rows(db))


def test_a_message_that_keeps_failing_is_marked_failed_with_its_error(db, make, smtp, app, runner=None):
    app.config.update(MAIL_MAX_ATTEMPTS=2, MAIL_BACKOFF_SECONDS=0)
    _queue(db, make)
    smtp.stop()
    assert outbox.send_due() == {"sent": 0, "retry": 1, "failed": 1, "skipped": 0, "lost": 0}
    [row] = _rows(db)
    assert row.failed_at is not None and row.attempts == 2 and "Connection" in row.last_error
    assert outbox.failed() == [row]
    result = app.test_cli_runner().invoke(args=["mail", "status"])
    assert "pending 0" in result.output and f"failed #{row.id} to reader0@example.com after 2 attempts" in result.output


def test_two_workers_never_send_one_message_twice(db, make, smtp, app):
    _queue(db, make, n=40)
    counts, errors = [], []

    def work(name):
        try:
            with app.app_context():
                counts.append(outbox.send_due(name))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert errors == []
    assert sum(c["sent"] for c in counts) == 40 and sum(c["lost"] for c in counts) == 0
    ids = [m["Message-ID"] for m in smtp.inbox.messages]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert all(r.sent_at and r.attempts == 1 for r in _rows(db))


def test_an_abandoned_claim_is_retaken_and_a_late_finish_changes_nothing(db, make, smtp, app):
    [row] = _queue(db, make)
    claimed = outbox.claim_next("dead-worker")
    assert claimed.id == row.id and outbox.claim_next("other") is None
    with freeze_time(utcnow() + timedelta(seconds=301)):
        assert outbox.send_due("other")["sent"] == 1
    assert outbox.send_one(claimed, "dead-worker") == "lost"     # its claim was taken over
    assert len(smtp.inbox.raw) == 2   # the dead worker did reach SMTP: at-least-once, documented
    [row] = _rows(db)
    assert row.sent_at is not None and row.attempts == 1


def test_without_a_mail_server_messages_are_written_as_eml_files(db, make, app, tmp_path):
    app.config.update(MAIL_BACKEND=None, MAIL_SERVER=None)
    _queue(db, make, n=2)
    assert mail.backend() == "file"
    assert app.test_cli_runner().invoke(args=["mail", "send"]).output.strip() == "sent 2, will retry 0, failed 0"
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2 and b"Content-Type: multipart/alternative" in files[0].read_bytes()


def test_the_log_backend_writes_the_message_to_the_log(db, make, app, caplog):
    app.config.update(MAIL_BACKEND="log")
    _queue(db, make)
    with caplog.at_level("INFO"):
        assert outbox.send_due()["sent"] == 1
    assert "To: reader0@example.com" in caplog.text
