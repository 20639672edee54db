"""The Alembic migrations build exactly the schema the models describe.

Tests build their schema with ``create_all``; this test is what keeps the
real path (``flask db upgrade``) honest.
"""
from __future__ import annotations

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from community import create_app
from community.extensions import db


def test_upgrade_on_a_fresh_database_matches_the_models(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'migrated.db'}",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test"})
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": True})
            diffs = compare_metadata(context, db.metadata)
        tables = set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert diffs == [], "migrations and models differ; regenerate the migration:\n" + "\n".join(map(str, diffs))
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_downgrade_to_base_removes_everything(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'down.db'}",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test"})
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        left = set(db.inspect(db.engine).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert left == set()


def test_upgrade_keeps_the_rows_of_rebuilt_tables_with_foreign_keys_on(tmp_path):
    """SQLite runs with foreign keys on; the batch migrations that rebuild ``posts`` and ``users``
    (copy, drop, rename) must not cascade the drop to the rows pointing at them, nor fail."""
    from sqlalchemy import text

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'kept.db'}",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test"})
    now = "2026-01-05 10:00:00"
    with app.app_context():
        flask_migrate.upgrade(revision="f61b57e63d8f")  # the initial schema
        with db.engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            for n in (1, 2):
                conn.execute(text(
                    "INSERT INTO users (id, username, email, password_hash, role, reputation_points, about,"
                    " about_html, created_at, session_version) VALUES (:n, :u, :e, 'x', 'member', 10, '', '',"
                    " :now, 1)"), {"n": n, "u": f"user{n}", "e": f"user{n}@example.com", "now": now})
            conn.execute(text("INSERT INTO categories (id, name, slug, description, position, created_at)"
                              " VALUES (1, 'Billing', 'billing', '', 0, :now)"), {"now": now})
            conn.execute(text(
                "INSERT INTO threads (id, category_id, author_id, title, slug, created_at, last_activity_at,"
                " view_count, reply_count, score, locked, pinned, hidden, deleted) VALUES (1, 1, 1,"
                " 'How do I change my email?', 'how', :now, :now, 0, 1, 0, 0, 0, 0, 0)"), {"now": now})
            for post_id, author, question in ((1, 1, 1), (2, 2, 0)):
                conn.execute(text(
                    "INSERT INTO posts (id, thread_id, author_id, is_question, is_official, body, body_html,"
                    " score, created_at, hidden, deleted) VALUES (:id, 1, :a, :q, 0, 'b', '<p>b</p>', :s,"
                    " :now, 0, 0)"), {"id": post_id, "a": author, "q": question, "s": 1 - question, "now": now})
            conn.execute(text("UPDATE threads SET question_post_id = 1 WHERE id = 1"))
            conn.execute(text("INSERT INTO votes (id, post_id, user_id, value, created_at, updated_at)"
                              " VALUES (1, 2, 1, 1, :now, :now)"), {"now": now})
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            counts = {table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                      for table in ("users", "threads", "posts", "votes")}
            dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            still_on = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
        db.engine.dispose()
    assert counts == {"users": 2, "threads": 1, "posts": 2, "votes": 1}
    assert dangling == [] and still_on == 1


def test_dropping_first_reply_at_keeps_the_threads_and_downgrade_brings_the_column_back(tmp_path):
    """``threads.first_reply_at`` (never read; wrong after a hide, delete or merge) is dropped in
    place: the thread and the posts pointing at it stay; a downgrade adds the column back, empty."""
    from sqlalchemy import text

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'drop.db'}",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test"})
    now = "2026-01-05 10:00:00"
    with app.app_context():
        flask_migrate.upgrade(revision="a9c4e2f7b1d3")  # the revision before the drop
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, username, email, password_hash, role, reputation_points, about,"
                " about_html, created_at, session_version) VALUES (1, 'asker', 'a@example.com', 'x', 'member',"
                " 1, '', '', :now, 1)"), {"now": now})
            conn.execute(text("INSERT INTO categories (id, name, slug, description, position, created_at)"
                              " VALUES (1, 'Billing', 'billing', '', 0, :now)"), {"now": now})
            conn.execute(text(
                "INSERT INTO threads (id, category_id, author_id, title, slug, created_at, last_activity_at,"
                " first_reply_at, view_count, reply_count, score, locked, pinned, hidden, deleted) VALUES"
                " (1, 1, 1, 'Invoice', 'invoice', :now, :now, '2026-01-04 09:00:00', 0, 0, 0, 0, 0, 0, 0)"),
                {"now": now})
            conn.execute(text(
                "INSERT INTO posts (id, thread_id, author_id, is_question, is_official, body, body_html,"
                " score, created_at, hidden, deleted) VALUES (1, 1, 1, 1, 0, 'b', '<p>b</p>', 0, :now, 0, 0)"),
                {"now": now})
        flask_migrate.upgrade(revision="a1d0f7c3e9b2")
        columns = {c["name"] for c in db.inspect(db.engine).get_columns("threads")}
        with db.engine.connect() as conn:
            kept = (conn.exec_driver_sql("SELECT count(*) FROM threads").scalar(),
                    conn.exec_driver_sql("SELECT count(*) FROM posts").scalar())
        flask_migrate.downgrade(revision="a9c4e2f7b1d3")
        with db.engine.connect() as conn:
            back = conn.exec_driver_sql("SELECT id, first_reply_at FROM threads").fetchall()
        db.engine.dispose()
    assert "first_reply_at" not in columns and "solved_at" in columns
    assert kept == (1, 1)
    assert back == [(1, None)]


def test_the_daily_cap_counter_is_filled_from_the_ledger_by_its_migration(tmp_path):
    """``users.cap_day`` / ``cap_points`` (d7e3b1c9a5f4): each user's latest capped day and the sum of
    its rows (reversals included), no day and 0 for a user without capped rows; then no drift."""
    from sqlalchemy import text

    from community.services.forum import reputation

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cap.db'}",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test"})
    now = "2026-03-02 10:00:00"
    with app.app_context():
        flask_migrate.upgrade(revision="e7b3d5f9a2c4")  # the revision before the counter
        with db.engine.begin() as conn:
            for uid, name, points in ((1, "author", 27), (2, "quiet", 15)):
                conn.execute(text(
                    "INSERT INTO users (id, username, email, password_hash, role, reputation_points, about,"
                    " about_html, created_at, session_version) VALUES (:id, :name, :email, 'x', 'member',"
                    " :points, '', '', :now, 1)"), {"id": uid, "name": name, "email": f"{name}@example.com",
                                                   "points": points, "now": now})
            rows = [(1, 1, 10, "answer_upvoted", "2026-03-01", None), (2, 1, 10, "answer_upvoted", "2026-03-02", None),
                    (3, 1, 5, "question_upvoted", "2026-03-02", None), (4, 1, -10, "answer_upvoted", "2026-03-02", 2),
                    (5, 1, 10, "answer_upvoted", "2026-03-02", None), (6, 1, 2, "accepted_answer", None, None),
                    (7, 2, 15, "answer_accepted", None, None)]
            for rid, uid, points, reason, day, reversal_of in rows:
                conn.execute(text(
                    "INSERT INTO reputation_events (id, user_id, points, requested_points, reason, cap_day,"
                    " reversal_of_id, created_at) VALUES (:id, :uid, :p, :p, :reason, :day, :rev, :now)"),
                    {"id": rid, "uid": uid, "p": points, "reason": reason, "day": day, "rev": reversal_of, "now": now})
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            counters = conn.exec_driver_sql("SELECT id, cap_day, cap_points FROM users ORDER BY id").fetchall()
        drift = reputation.cap_counter_drift()
        db.engine.dispose()
    assert [tuple(map(str, row)) for row in counters] == [("1", "2026-03-02", "15"), ("2", "None", "0")]
    assert drift == []
