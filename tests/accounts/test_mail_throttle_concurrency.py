"""Mail throttling holds when the notifications come at the same moment: replies posted at once
through gunicorn (4 workers × 2 threads), then two mail workers sending at once to a real SMTP
server on 127.0.0.1, on SQLite and PostgreSQL.

- Eight replies at once in one member's thread: one mail now, the other seven posts batched
  into one mail an hour after it (one per thread per hour).
- Eight replies at once in eight threads of a member whose ceiling is 3 a day: exactly three
  mails reach them (the queue may let a race past its count; the worker's count, under a lock
  per member, holds).
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from community.models import OutboxMessage, utcnow
from tests.mail_server import SmtpServer
from tests.platform import live_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not live_server.GUNICORN.exists(), reason="gunicorn is not installed")]

HELPERS = 8
LIMIT = 3


database_url = live_server.database_fixture("accounts_throttle")


def _prepare(config: dict) -> tuple[list[int], list[int]]:
    """``batched`` (one thread of theirs) and ``capped`` (eight threads), and eight helpers."""
    from community import create_app
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import threads

    app = create_app(config)
    with app.app_context():
        db.create_all()
        batched = users.create_user("batched", "batched@example.com", "password123")
        capped = users.create_user("capped", "capped@example.com", "password123")
        for i in range(HELPERS):
            users.create_user(f"helper{i}", f"helper{i}@example.com", "password123")
        db.session.flush()
        category = threads.create_category("Sync")
        one = threads.create_thread(batched, category, "Sync stops after the update", "It stops every time.")
        many = [threads.create_thread(capped, category, f"Printer number {i} is not found",
                                      "The app never finds it.") for i in range(HELPERS)]
        db.session.commit()
        ids = [one.id] * HELPERS, [t.id for t in many]
        db.engine.dispose()
    return ids


def _reply_all(base: str, thread_ids: list[int]) -> list[int]:
    helpers = [live_server.Client(base).login(f"helper{i}") for i in range(HELPERS)]
    calls = [lambda c=c, t=t, i=i: c.form(f"/threads/{t}/reply", {"body": f"Try step {i}: restart the agent."})
             for i, (c, t) in enumerate(zip(helpers, thread_ids))]
    return live_server.burst(calls)


def _two_workers(app) -> None:
    from community.extensions import db
    from community.services.mail import outbox

    barrier = threading.Barrier(2)

    def work():
        with app.app_context():
            barrier.wait()
            outbox.send_due(outbox.worker_name())
            db.session.remove()

    runs = [threading.Thread(target=work) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()


def test_concurrent_replies_keep_one_mail_per_thread_per_hour_and_the_daily_ceiling(database_url, tmp_path):
    from community import create_app
    from community.extensions import db

    config = live_server.server_config(database_url, tmp_path, MAIL_DAILY_LIMIT_PER_USER=LIMIT)
    one_thread, eight_threads = _prepare(config)
    with live_server.gunicorn(config, tmp_path, workers=4, threads=2) as base:
        assert _reply_all(base, one_thread) == [302] * HELPERS
        assert _reply_all(base, eight_threads) == [302] * HELPERS
    smtp = SmtpServer()
    smtp.start()
    try:
        app = create_app({**config, "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
                          "MAIL_FROM": "community@example.com"})
        _two_workers(app)
        to_batched = [m for m in smtp.inbox.messages if m["To"] == "batched@example.com"]
        to_capped = [m for m in smtp.inbox.messages if m["To"] == "capped@example.com"]
        assert len(to_batched) == 1, [m["Subject"] for m in to_batched]
        assert len(to_capped) == LIMIT, [m["Subject"] for m in to_capped]
        assert len({m["Message-ID"] for m in smtp.inbox.messages}) == len(smtp.inbox.messages)
        with app.app_context():
            rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.payload.is_not(None))
                                      .order_by(OutboxMessage.id)).scalars().all()
            mine = [r for r in rows if r.payload.get("to") == "batched@example.com"]
            assert len(mine) == 2, "the first at once and one batch for the other seven"
            first, batch = mine
            assert batch.sent_at is None and batch.available_at - first.available_at >= timedelta(minutes=60)
            assert len(batch.payload["items"]) == HELPERS - 1
            # the hour passes: the batch goes, with the seven posts
            db.session.execute(update(OutboxMessage).where(OutboxMessage.id == batch.id)
                               .values(available_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
            db.session.remove()
        _two_workers(app)
        to_batched = [m for m in smtp.inbox.messages if m["To"] == "batched@example.com"]
        assert len(to_batched) == 2 and to_batched[1]["Subject"].startswith(f"{HELPERS - 1} new posts: ")
        assert len([m for m in smtp.inbox.messages if m["To"] == "capped@example.com"]) == LIMIT
        with app.app_context():
            db.engine.dispose()
    finally:
        smtp.stop()
