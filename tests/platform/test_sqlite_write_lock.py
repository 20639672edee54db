"""SQLite's write lock for code that writes inside a read-only request: a GET whose service takes a
savepoint (``begin_nested()``) holds the write lock from the savepoint on, so a commit by another
connection between its read and its write cannot fail the write with "database is locked"."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import User


@pytest.fixture()
def sqlite_file(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock: PostgreSQL writers lock rows instead")
    return db.engine.url.database


def _other_connection_writes(path: str) -> str:
    """What another connection (another worker) sees when it writes now, without waiting."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("UPDATE users SET about = 'other worker' WHERE id = -1")
        return "wrote"
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        other.close()


def test_a_get_that_writes_in_a_savepoint_holds_the_write_lock_from_its_first_read(app, make, sqlite_file):
    """The company sign-in's callback (a GET) looks the account up and creates it in one savepoint.
    Before the fix another worker's commit between the two made the INSERT fail at once (a stale
    WAL snapshot: no busy timeout helps), a 500 on the way back from the provider."""
    make.user("existing")
    db.session.commit()
    db.session.remove()
    with app.test_request_context("/login/sso/callback", method="GET"):
        with db.session.begin_nested():
            assert db.session.execute(select(func.count(User.id))).scalar() == 1
            assert _other_connection_writes(sqlite_file) == "database is locked"
            db.session.add(User(username="pat", email="pat@corp.example", password_hash="x"))
            db.session.flush()
        db.session.commit()
    assert db.session.execute(select(func.count(User.id))).scalar() == 2
    assert _other_connection_writes(sqlite_file) == "wrote"   # and the lock is released with the commit


def test_a_plain_read_in_a_get_takes_no_write_lock(app, make, sqlite_file):
    """Readers stay readers: a GET's queries outside a savepoint leave other workers free to write."""
    make.user("existing")
    db.session.commit()
    db.session.remove()
    with app.test_request_context("/questions", method="GET"):
        assert db.session.execute(select(func.count(User.id))).scalar() == 1
        assert _other_connection_writes(sqlite_file) == "wrote"
        db.session.rollback()
