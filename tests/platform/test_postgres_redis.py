"""The production configuration: PostgreSQL (migrations and core flows) and Redis (shared limits).

These talk to real servers on 127.0.0.1 and skip, saying why, where none answers.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from community import create_app
from community.extensions import db
from community.services.accounts import users
from community.services.forum import accepting, reputation, threads, votes
from tests import databases

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Its keys carry this run's prefix (tests/databases.py): other runs on the same Redis keep theirs.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _pg_engine():
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return engine
    except Exception as exc:  # psycopg missing or server down
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc.__class__.__name__})")


@pytest.fixture()
def pg_app(tmp_path):
    admin = _pg_engine()
    name = f"community_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": url,
                      "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    try:
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_and_core_flows_run_on_postgresql(pg_app):
    from flask_migrate import upgrade

    upgrade()
    asker = users.create_user("asker", "asker@example.com", "password123")
    helper = users.create_user("helper", "helper@example.com", "password123")
    voter = users.create_user("voter", "voter@example.com", "password123")
    category = threads.create_category("Billing", "Invoices")
    thread = threads.create_thread(asker, category, "Where are my invoices kept?",
                                 "I cannot find the invoices for last year anywhere.", ["billing"])
    answer = threads.add_reply(helper, thread, "Settings, then Billing, then Invoice history.")
    votes.set_vote(voter, answer, 1)
    accepting.accept(asker, thread, answer)
    db.session.commit()

    assert helper.reputation == 1 + 10 + 15
    assert asker.reputation == 1 + 2
    assert reputation.recompute_all() == 0
    client = pg_app.test_client()
    data = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert data["solved"] is True and data["accepted_post_id"] == answer.id


def _redis_or_skip():
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        return client
    except Exception as exc:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379 ({exc.__class__.__name__})")


def test_rate_limits_are_shared_between_workers_through_redis(tmp_path):
    _redis_or_skip()
    databases.empty_redis(REDIS_URL)
    apps = [create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'r.db'}",
                        "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False, "REDIS_URL": REDIS_URL,
                        "LOGIN_RATE_LIMIT": "3 per minute"}) for _ in range(2)]
    with apps[0].app_context():
        db.create_all()
    statuses = []
    for i in range(4):  # alternate "workers": the 4th attempt is refused whichever serves it
        statuses.append(apps[i % 2].test_client().post(
            "/login", data={"login": "nobody", "password": "wrong-password"}).status_code)
    assert statuses == [400, 400, 400, 429]
    databases.empty_redis(REDIS_URL)
