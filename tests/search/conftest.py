"""Search tests run on both backends: Whoosh and PostgreSQL full-text search.

The modules in ``BOTH`` get every test twice (``[whoosh]`` and ``[postgres]``);
the others test Whoosh's own machinery (index files, segments, processes).
PostgreSQL: ``TEST_SEARCH_DATABASE_URL`` (default the ``search_test`` database
on 127.0.0.1:5432), emptied by the tests; skipped, with the reason, when
nothing answers there.
"""
from __future__ import annotations

import os

import pytest

from community import create_app, search
from community.extensions import db as _db
from tests.conftest import stamp_migrations_head

BOTH = {"test_search_index", "test_search_query", "test_search_page", "test_postgres_backend"}
PG_URL = os.environ.get("TEST_SEARCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/search_test")
_pg_state: dict[str, str | None] = {}


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "search_backend" in metafunc.fixturenames:
        params = ["whoosh", "postgres"] if module in BOTH else ["whoosh"]
        if module == "test_postgres_backend":
            params = ["postgres"]
        metafunc.parametrize("search_backend", params, indirect=True)


def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used for the tests, or None."""
    if "reason" not in _pg_state:
        try:
            import psycopg

            with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
                _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001 - any failure is a reason to skip
            _pg_state["reason"] = f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__})"
    return _pg_state["reason"]


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
        uri = PG_URL
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
        _db.session.remove()
        search.drop_schema()
        _db.drop_all()
