"""The ticket queries, the unique active-ticket index and the webhook claim on PostgreSQL.

Runs when PostgreSQL is reachable at 127.0.0.1:5432 (database ``tickets_test``, created
if missing); skipped otherwise.
"""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.tickets.test_tickets_webhooks import Receiver

from community import create_app
from community.extensions import db as _db
from community.models import Flag, OutboxMessage, utcnow
from community.services.errors import Conflict
from community.services.tickets import escalation, webhooks
from community.services.tickets import queue as tickets_queue
from tests import databases

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
# Under pytest-xdist: this worker's own copy (tests/databases.py).
PG_URL = databases.for_worker("postgresql+psycopg://postgres@127.0.0.1:5432/tickets_test")


def _ensure_database() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as conn:
            name = PG_URL.rsplit("/", 1)[1]
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return True
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return False


@pytest.fixture()
def app(tmp_path):
    if not _ensure_database():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": PG_URL,
        "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "SERVER_NAME": "localhost",
    })

    with app.app_context():
        _db.drop_all()
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()


def test_unresolved_queue_and_unique_active_ticket(db, make):
    quiet = make.thread()
    quiet.created_at = utcnow() - timedelta(hours=30)
    flagged = make.thread()
    db.session.add(Flag(post_id=flagged.question_post_id, thread_id=flagged.id,
                        user_id=make.user().id, reason="needs_moderator"))
    db.session.commit()
    rows, total = escalation.unresolved(sort="votes")
    assert {t.id: why for t, why in rows} == {quiet.id: ["no_reply"], flagged.id: ["flagged"]}
    moderator = make.user(role="moderator")
    escalation.escalate(quiet, moderator, "high", "note")
    db.session.commit()
    original = escalation.active_ticket
    escalation.active_ticket = lambda thread_id: None
    try:
        with pytest.raises(Conflict):
            escalation.escalate(quiet, moderator)
    finally:
        escalation.active_ticket = original
    db.session.rollback()
    rows, total = tickets_queue.queue(tickets_queue.clean_filters({"age": "over_target"}))
    assert total == 0
    rows, total = tickets_queue.queue(tickets_queue.clean_filters({"priority": "high", "status": "all"}))
    assert total == 1


def test_two_workers_never_deliver_twice_on_postgres(app, db, make):
    with Receiver(delay=0.01) as receiver:
        app.config.update({"TICKET_WEBHOOK_URL": receiver.url, "TICKET_WEBHOOK_SECRET": "x"})
        moderator = make.user("mod", role="moderator")
        for _ in range(20):
            escalation.escalate(make.thread(), moderator)
        db.session.commit()

        def work(name):
            with app.app_context():
                webhooks.deliver_due(name)
                _db.session.remove()

        workers = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
    ids = [json.loads(r["body"])["delivery_id"] for r in receiver.requests]
    assert len(ids) == 20 and len(set(ids)) == 20
    db.session.expire_all()
    assert all(m.sent_at for m in db.session.execute(select(OutboxMessage)).scalars())
