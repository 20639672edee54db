"""Search tests run on both backends: Whoosh and PostgreSQL full-text search.

The modules in ``BOTH`` get every test twice (``[whoosh]`` and ``[postgres]``) but those marked
``whoosh_only``; the others test Whoosh's own machinery (index files, segments, processes).
PostgreSQL: ``TEST_SEARCH_DATABASE_URL`` (a database the tests may empty), or by default
a database of its own created on 127.0.0.1:5432 for the run and dropped after it;
skipped, with the reason, when nothing answers there.
"""
from __future__ import annotations

import os

import pytest

from community import create_app, search
from community.extensions import db as _db
from tests import databases
from tests.conftest import stamp_migrations_head
from tests.platform.live_server import create_postgres_database, drop_postgres_database

BOTH = {"test_search_index", "test_search_query", "test_search_page", "test_postgres_backend", "test_search_judgments",
        "test_search_warm", "test_suggest_rules"}
_pg_state: dict[str, str | None] = {}


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "search_backend" in metafunc.fixturenames:
        params = ["whoosh", "postgres"] if module in BOTH else ["whoosh"]
        if module == "test_postgres_backend":
            params = ["postgres"]
        if metafunc.definition.get_closest_marker("whoosh_only"):
            params = ["whoosh"]
        metafunc.parametrize("search_backend", params, indirect=True)


def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used for the tests, or None (then ``_pg_state["url"]`` is set)."""
    if "reason" not in _pg_state:
        given = os.environ.get("TEST_SEARCH_DATABASE_URL")
        # Under xdist each worker empties a database of its own (``<name>_gw0``, tests/databases.py).
        url = databases.for_worker(given) if given else create_postgres_database("search_tests")
        _pg_state["created"] = None if os.environ.get("TEST_SEARCH_DATABASE_URL") else url
        _pg_state["url"] = url
        _pg_state["reason"] = None if url else "PostgreSQL is not reachable on 127.0.0.1:5432"
        if url and os.environ.get("TEST_SEARCH_DATABASE_URL"):
            try:
                import psycopg

                with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
                    pass
            except Exception as exc:  # noqa: BLE001 - any failure is a reason to skip
                _pg_state["reason"] = f"PostgreSQL not reachable at {url} ({type(exc).__name__})"
    return _pg_state["reason"]


@pytest.fixture(autouse=True, scope="session")
def _drop_created_database():
    """The database this run created for the PostgreSQL backend goes when the run ends."""
    yield
    if _pg_state.get("created"):
        drop_postgres_database(_pg_state["created"])


@pytest.fixture()
def search_backend(request):
    return getattr(request, "param", "whoosh")


@pytest.fixture()
def app(tmp_path, search_backend):
    if search_backend == "whoosh" and not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        uri = f"sqlite:///{tmp_path / 'test.db'}"
    elif search_backend == "whoosh":
        uri = os.environ["TEST_DATABASE_URL"]
    else:
        reason = pg_unavailable()
        if reason:
            pytest.skip(reason)
        uri = _pg_state["url"]
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": uri,
        "SEARCH_BACKEND": search_backend, "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "DEFLECTION_HOLDOUT": 0,
    })
    with app.app_context():
        if search_backend == "postgres":
            search.drop_schema()
            _db.drop_all()
        _db.create_all()
        search.create_schema()
        stamp_migrations_head(app)
        yield app
        state = app.extensions.get("search")
        if hasattr(state, "wait_for_refresh"):  # a background refresh of the table of words
            state.wait_for_refresh(30)
        _db.session.remove()
        search.drop_schema()
        _db.drop_all()
        _db.engine.dispose()  # this app's pooled connections (the server's are shared by every run)
