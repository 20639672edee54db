"""The deflection metrics and recording on PostgreSQL (skips, saying why, without a server)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from community import create_app
from community.extensions import db
from community.services.accounts import users
from community.services.deflection import ask_sessions, metrics
from community.services.forum import threads

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0"


@pytest.fixture()
def pg_app(tmp_path):
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # psycopg missing or server down
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc.__class__.__name__})")
    name = f"deflection_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    try:
        with app.app_context():
            db.create_all()
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_metrics_on_postgresql(pg_app):
    t0 = datetime(2026, 3, 2, 9, 0)
    at = lambda m: t0 + timedelta(minutes=m)  # noqa: E731
    member = users.create_user("asker", "asker@example.com", "password123")
    category = threads.create_category("Billing", "Invoices")
    thread = threads.create_thread(member, category, "Where are my invoices kept?",
                                 "I cannot find the invoices for last year anywhere.", created_at=at(0))
    threads.add_reply(users.create_user("helper", "h@example.com", "password123"), thread,
                    "Settings, then Billing.", created_at=at(60))
    sessions = []
    for i, post_after in enumerate((None, 29, 31)):
        s = ask_sessions.start_or_resume_session(visitor_id=f"{i + 1:032x}", page="ask", user_agent=UA,
                                               now=at(i * 100))
        ask_sessions.record_suggestions_shown(s.id, "invoices", [f"thread:{thread.id}"], at=at(i * 100))
        ask_sessions.record_opened(s.id, "thread", thread.id, at=at(i * 100 + 1))
        if post_after is not None:
            ask_sessions.record_event(s.id, "question_posted", at=at(i * 100 + 1 + post_after))
        sessions.append(s)
    ask_sessions.record_confirmed(sessions[0].id, thread.id, at=at(3))
    db.session.commit()
    assert not ask_sessions.record_suggestions_shown(sessions[0].id, "Invoices!", [], at=at(5))

    report = metrics.deflection_report(date(2026, 3, 2), date(2026, 3, 2), now=datetime(2026, 3, 3))
    assert (report["sessions"], report["sessions_with_suggestions"]) == (3, 3)
    assert (report["confirmed_deflections"], report["inferred_deflections"]) == (1, 1)
    assert report["deflection_rate_with_inferred"] == round(2 / 3, 4)
    assert report["health"]["questions"] == 1
    assert report["health"]["median_time_to_first_reply_seconds"] == 3600
    assert report["content_gaps"] == []
