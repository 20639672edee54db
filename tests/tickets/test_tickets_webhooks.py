"""The outbound ticket webhook against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from tests.tickets.support import escalated

from community.extensions import db as _db
from community.models import OutboxMessage, WebhookAttempt, utcnow
from community.services.errors import Conflict
from community.services.tickets import escalation, webhooks, workflow

SECRET = "s3cret-for-tests"


class Receiver:
    """An HTTP server that records every request and answers from a script of statuses."""

    def __init__(self, statuses=(), delay=0.0):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        self.delay = delay
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"at": time.monotonic(), "body": body,
                                              "headers": dict(self.headers)})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def hook(app):
    def configure(receiver_url, **extra):
        app.config.update({"TICKET_WEBHOOK_URL": receiver_url, "TICKET_WEBHOOK_SECRET": SECRET,
                           "WEBHOOK_BACKOFF_SECONDS": 0.3, **extra})
    return configure


def _run_until_done(timeout=10.0):
    """What ``webhooks deliver --loop`` does, bounded for a test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        webhooks.deliver_due("test-worker")
        wait = webhooks.next_due_in()
        if wait is None:
            return
        time.sleep(min(max(wait, 0.02), 0.5))
    raise AssertionError("deliveries did not finish")


def test_not_configured_writes_nothing(db, make):
    escalated(make)
    assert db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all() == []


def test_created_and_updated_are_signed_and_delivered(app, db, make, hook):
    with Receiver() as receiver:
        hook(receiver.url)
        ticket, thread, customer, moderator = escalated(make, note="internal")
        agent = make.user("agent", role="agent")
        workflow.update(agent, ticket, status="pending", priority="high")
        db.session.commit()
        assert len(db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()) == 2  # one row per change, not per field
        _run_until_done()
    assert len(receiver.requests) == 2
    for request, event in zip(receiver.requests, ("ticket.created", "ticket.updated")):
        body, headers = request["body"], request["headers"]
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Community-Signature"] == expected
        assert webhooks.verify(SECRET, body, headers["X-Community-Signature"])
        assert not webhooks.verify("wrong-secret", body, headers["X-Community-Signature"])
        payload = json.loads(body)
        assert payload["event"] == event and headers["X-Community-Event"] == event
        assert str(payload["timestamp"]) == headers["X-Community-Timestamp"]
        assert abs(payload["timestamp"] - time.time()) < 60
        assert payload["ticket"]["id"] == ticket.id and payload["ticket"]["thread_id"] == thread.id
    updated = json.loads(receiver.requests[1]["body"])["ticket"]
    assert updated["status"] == "pending" and updated["priority"] == "high"
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).scalars().all()
    assert all(r.sent_at and r.attempts == 1 and r.claimed_by is None for r in rows)


def test_retries_with_increasing_delay(app, db, make, hook):
    with Receiver(statuses=[500, 500, 200]) as receiver:
        hook(receiver.url)
        escalated(make)
        _run_until_done()
    assert len(receiver.requests) == 3
    times = [r["at"] for r in receiver.requests]
    first_gap, second_gap = times[1] - times[0], times[2] - times[1]
    assert first_gap >= 0.28 and second_gap >= 0.56 and second_gap > first_gap
    attempts = db.session.execute(select(WebhookAttempt).order_by(WebhookAttempt.id)).scalars().all()
    assert [(a.attempt, a.status_code, a.ok) for a in attempts] == [(1, 500, False), (2, 500, False), (3, 200, True)]
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert [b["attempt"] for b in bodies] == [1, 2, 3]
    assert len({b["delivery_id"] for b in bodies}) == 1  # the receiver can de-duplicate
    message = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).scalar_one()
    assert message.sent_at and message.attempts == 3 and message.failed_at is None


def test_marked_failed_after_max_attempts(app, db, make, hook):
    with Receiver(statuses=[503] * 10) as receiver:
        hook(receiver.url, WEBHOOK_MAX_ATTEMPTS=3, WEBHOOK_BACKOFF_SECONDS=0.05)
        escalated(make)
        _run_until_done()
    assert len(receiver.requests) == 3
    message = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).scalar_one()
    assert message.failed_at and not message.sent_at and "503" in message.last_error
    # an admin's "retry now" queues it again
    assert webhooks.retry(message.id) is message
    db.session.commit()
    assert message.failed_at is None and message.attempts == 0


def test_unreachable_receiver_is_an_error_not_a_crash(app, db, make, hook):
    receiver = Receiver()  # bound but never serving: connection refused once closed
    url = receiver.url
    receiver.server.server_close()
    hook(url, WEBHOOK_MAX_ATTEMPTS=2, WEBHOOK_BACKOFF_SECONDS=30)
    escalated(make)
    counts = webhooks.deliver_due("w")
    assert counts == {"sent": 0, "retry": 1, "failed": 0}
    attempt = db.session.execute(select(WebhookAttempt)).scalar_one()
    assert attempt.status_code is None and attempt.error


def test_two_workers_never_deliver_twice(app, db, make, hook):
    with Receiver(delay=0.01) as receiver:
        hook(receiver.url)
        moderator = make.user("mod", role="moderator")
        for _ in range(15):
            escalation.escalate(make.thread(), moderator)
        db.session.commit()
        total = len(db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all())
        assert total == 15

        def work(name):
            with app.app_context():
                webhooks.deliver_due(name)
                _db.session.remove()

        workers = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
    ids = [json.loads(r["body"])["delivery_id"] for r in receiver.requests]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == total
    db.session.expire_all()
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).scalars().all()
    assert all(r.sent_at and r.attempts == 1 for r in rows)
    workers_used = {a.worker for a in db.session.execute(select(WebhookAttempt)).scalars()}
    assert workers_used <= {"w0", "w1"}


def test_claim_is_exclusive_and_stale_claims_are_retaken(app, db, make, hook):
    hook("http://127.0.0.1:9/unused")
    escalated(make)
    first = webhooks.claim_next("a")
    assert first is not None
    assert webhooks.claim_next("b") is None  # already claimed
    first.claimed_at = utcnow() - timedelta(seconds=app.config["WEBHOOK_CLAIM_TIMEOUT_SECONDS"] + 1)
    db.session.commit()
    again = webhooks.claim_next("b")  # the first worker died: its claim times out
    assert again is not None and again.id == first.id and again.claimed_by == "b"


def test_outbox_row_rolls_back_with_the_change(app, db, make, hook):
    hook("http://127.0.0.1:9/unused")
    ticket, thread, customer, moderator = escalated(make)
    before = len(db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all())
    with pytest.raises(Conflict):
        escalation.escalate(thread, moderator)
    db.session.rollback()
    assert len(db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()) == before


def test_cli_and_delivery_log_page(app, db, make, hook, client, login):
    with Receiver(statuses=[500]) as receiver:
        hook(receiver.url, WEBHOOK_BACKOFF_SECONDS=30)
        ticket, *_ = escalated(make)
        result = app.test_cli_runner().invoke(args=["webhooks", "deliver"])
        assert result.exit_code == 0 and "will retry 1" in result.output
    admin = make.user("admin", role="admin")
    login(admin)
    page = client.get("/tickets/webhooks").get_data(as_text=True)
    assert "ticket.created" in page and "HTTP 500" in page and "Retry now" in page
    message = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).scalar_one()
    client.post(f"/tickets/webhooks/{message.id}/retry")
    db.session.refresh(message)
    assert message.available_at <= utcnow()
