"""Fixtures: an app on a temporary SQLite database and index, users by role, helpers."""
from __future__ import annotations

import contextvars
import os

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient

from community import create_app
from community.extensions import db as _db
from community.services.accounts import users
from community.services.forum import threads
from tests import databases
from tests.mail_server import SmtpServer

# Under pytest-xdist each worker has a PostgreSQL database and Redis keys of its own
# (tests/databases.py); every reader of TEST_DATABASE_URL sees this worker's database.
if os.environ.get("TEST_DATABASE_URL"):
    os.environ["TEST_DATABASE_URL"] = databases.for_worker(os.environ["TEST_DATABASE_URL"])
os.environ["REDIS_KEY_PREFIX"] = databases.redis_prefix()


def pytest_sessionfinish(session):
    """A worker drops the PostgreSQL databases it made for itself."""
    databases.drop_created()


class RequestClient(FlaskClient):
    """A test client whose every request gets its own application context, ``g`` and
    database session, as in production.

    A test keeps an application context open (for its factories and assertions); Flask
    would reuse it for a test request, so ``g`` and the session would leak between the
    test and its requests. Each request therefore runs in an empty ``contextvars``
    context, where Flask pushes a fresh application context; afterwards the test's
    own session is expired, so it reads what the request committed, as a later
    request would.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response

    def __enter__(self):
        raise RuntimeError("RequestClient does not keep a request's context after it (`with client:`)")


@pytest.fixture(autouse=True, scope="session")
def _every_app_uses_request_client():
    """Every app a test creates (the fixture's and the tests' own) gets ``RequestClient``."""
    before = Flask.test_client_class
    Flask.test_client_class = RequestClient
    yield
    Flask.test_client_class = before


@pytest.fixture(autouse=True)
def _no_search_appliers_left():
    """The search queue's applier threads that a test's apps started (apps without ``TESTING``,
    such as those that prepare a live server's database) end with the test: left running, they
    poll databases that are dropped and run beside later tests' start-up."""
    yield
    from community.search import queue
    from community.services import fanout

    queue.stop_all()
    fanout.stop_all()   # the notification fan-out's appliers likewise


@pytest.fixture(autouse=True)
def _fresh_redis_counters():
    """With ``REDIS_URL`` (the PostgreSQL pass of tests/run.py), each test starts with no rate-limit
    counters or cached pages, as it does in memory: this run's keys (this xdist worker's
    prefix) are deleted before each test."""
    url = os.environ.get("REDIS_URL")
    if url:
        databases.empty_redis(url)
    yield


@pytest.fixture()
def app(tmp_path):
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path),
        # TEST_DATABASE_URL runs the suite on another database (e.g. PostgreSQL);
        # it must be a database the tests may empty.
        "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Sessions land in an arm by a hash of a random id: tests that study the
        # holdout set its share themselves, so that no other test depends on chance.
        "DEFLECTION_HOLDOUT": 0,
        # Each view is written at the end of its request (the batching has tests of its own).
        "VIEW_COUNT_FLUSH_SECONDS": 0,
    })

    with app.app_context():
        _fresh_schema()
        stamp_migrations_head(app)
        yield app
        _db.session.remove()
        if _db.engine.dialect.name == "postgresql":
            _empty_tables(_db.engine)  # the next fixture of any kind (some areas have their own) finds it empty
        else:
            _db.drop_all()
        _db.engine.dispose()


#: PostgreSQL databases whose schema this session has built (TEST_DATABASE_URL).
_SCHEMA_BUILT: set[str] = set()


def _fresh_schema() -> None:
    """An empty schema for the test.

    SQLite: a new file per test.  PostgreSQL (``TEST_DATABASE_URL``): the schema is dropped
    and built once per session, then every test starts and ends by deleting every row and
    restarting the sequences (ids begin at 1 again), which takes milliseconds where
    ``create_all`` + ``drop_all`` took a second or more per test.
    """
    engine = _db.engine
    if engine.dialect.name != "postgresql":
        _db.create_all()
        return
    url = engine.url.render_as_string(hide_password=False)
    if url not in _SCHEMA_BUILT:
        _db.drop_all()
        _db.create_all()
        _SCHEMA_BUILT.add(url)
        return
    _db.create_all()  # brings back a table that a test dropped
    _empty_tables(engine)


def _empty_tables(engine) -> None:
    """Delete every row of the models' tables and restart their sequences (PostgreSQL)."""
    with engine.begin() as conn:
        # Foreign-key triggers off for this transaction only (threads and posts point at each other).
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        existing = set(_db.inspect(conn).get_table_names())
        for table in reversed(_db.metadata.sorted_tables):
            if table.name in existing:
                conn.execute(table.delete())
        conn.exec_driver_sql("SELECT setval(c.oid, 1, false) FROM pg_class c "
                             "JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE c.relkind = 'S' AND n.nspname = current_schema()")


def stamp_migrations_head(app) -> None:
    """Record the migrations' head in ``alembic_version``, as ``flask db upgrade`` leaves it.

    The schema comes from ``create_all``, which ``test_migrations_match_models`` holds equal to
    what the migrations build; stamping it makes the database look like a migrated one to
    ``GET /healthz`` (and to anything else that reads the revision).
    """
    from sqlalchemy import text

    from community.services.maintenance.health import migration_heads

    heads = migration_heads(str(app.extensions["migrate"].directory))
    with _db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS alembic_version "
                          "(version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))
        conn.execute(text("DELETE FROM alembic_version"))
        for head in sorted(heads):
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})


@pytest.fixture()
def db(app):
    return _db


@pytest.fixture()
def client(app):
    return app.test_client()


class Factory:
    """Creates users, categories, threads and replies with sensible defaults."""

    def __init__(self, db):
        self.db = db
        self.n = 0

    def user(self, username=None, role="member", reputation=0, password="password123"):
        self.n += 1
        username = username or f"user{self.n}"
        user = users.create_user(username, f"{username}@example.com", password, role)
        user.reputation_points = reputation
        self.db.session.commit()
        return user

    def category(self, name=None):
        self.n += 1
        category = threads.create_category(name or f"Category {self.n}", "About things")
        self.db.session.commit()
        return category

    def thread(self, author=None, category=None, title=None, body=None, tags=None):
        self.n += 1
        author = author or self.user()
        category = category or self.category()
        thread = threads.create_thread(author, category, title or f"How do I configure thing number {self.n}?",
                                     body or "I tried the settings page but nothing changes at all.", tags)
        self.db.session.commit()
        return thread

    def reply(self, thread, author=None, body=None):
        author = author or self.user()
        post = threads.add_reply(author, thread, body or "Open Settings, then Advanced, and switch it on.")
        self.db.session.commit()
        return post


@pytest.fixture()
def make(db):
    return Factory(db)


@pytest.fixture()
def login(client):
    def do_login(user, password="password123"):
        client.post("/logout")
        return client.post("/login", data={"login": user.username, "password": password})
    return do_login


@pytest.fixture()
def token_for(db):
    def issue(user):
        token = users.issue_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}
    return issue


@pytest.fixture()
def smtp(app):
    """A running SMTP server, and the app configured to send to it."""
    server = SmtpServer()
    server.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port,
                      MAIL_FROM="Support Community <community@example.com>")
    yield server
    server.stop()
