"""Flask extensions, created unbound and initialised by the app factory."""
from contextlib import contextmanager
from contextvars import ContextVar

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

#: Stable constraint names so that Alembic migrations stay reproducible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


# -- SQLite under concurrent writers -------------------------------------------

def configure_sqlite_connections() -> None:
    """WAL, a 30 s busy timeout, enforced foreign keys and writer-serializing transactions on SQLite.

    Several gunicorn workers (or threads) writing one SQLite file otherwise
    fail with "database is locked" instead of waiting their turn.  WAL lets
    readers proceed while one writer writes.  A transaction that may write
    (any request but GET/HEAD/OPTIONS, or code inside ``write_intent()``)
    starts with ``BEGIN IMMEDIATE``: it takes the write lock before its first
    read, so two writers never read the same state and both act on it (what
    ``SELECT ... FOR UPDATE`` gives on PostgreSQL, where the services lock the
    rows they change).  SQLite enforces no foreign key unless each connection asks
    (``PRAGMA foreign_keys``), so a row pointing at a missing thread would be kept
    silently where PostgreSQL refuses it; every connection asks.  ``power()`` is registered when the SQLite build lacks
    its math functions (the trending sort uses it).  Other databases are left
    alone.  Idempotent: registers the listeners once.
    """
    import math
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if event.contains(Engine, "connect", _sqlite_on_connect):
        return

    def _power(base, exponent):
        try:
            return math.pow(base, exponent)
        except (TypeError, ValueError, OverflowError):
            return None

    _sqlite_on_connect.power = _power
    _sqlite_on_connect.sqlite3 = sqlite3
    event.listen(Engine, "connect", _sqlite_on_connect)
    event.listen(Engine, "begin", _sqlite_on_begin)
    event.listen(Engine, "savepoint", _sqlite_on_savepoint)


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    sqlite3 = _sqlite_on_connect.sqlite3
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        try:
            cursor.execute("SELECT power(2, 1)")
        except sqlite3.OperationalError:
            dbapi_connection.create_function("power", 2, _sqlite_on_connect.power, deterministic=True)
    finally:
        cursor.close()


#: Set by ``write_intent()``: transactions begun meanwhile take SQLite's write lock at once.
_WRITE_INTENT: ContextVar[bool] = ContextVar("sqlite_write_intent", default=False)


@contextmanager
def write_intent():
    """Outside a request (CLI, workers), make SQLite transactions begun here writers from the start."""
    token = _WRITE_INTENT.set(True)
    try:
        yield
    finally:
        _WRITE_INTENT.reset(token)


def locks_late(view):
    """Mark a writing view whose services lock what they act on (``services/locking.py``): on
    SQLite its request takes the write lock when a service locks its first row, not at its first
    statement.  What runs before (the token's user, loading the thread, permission checks,
    rendering Markdown) then runs beside other writers, reading committed state as PostgreSQL's
    READ COMMITTED does; whatever the view acts on, it re-reads and re-checks under the lock.
    Writes a view does without a lock first would take the write lock at its first ``INSERT``."""
    view.sqlite_locks_late = True
    return view


def _wants_write_lock() -> bool:
    if _WRITE_INTENT.get():
        return True
    from flask import current_app, has_request_context, request

    if not has_request_context() or request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    view = current_app.view_functions.get(request.endpoint)
    return not getattr(view, "sqlite_locks_late", False)


def release_write_lock(session) -> None:
    """End ``session``'s transaction when it may hold SQLite's write lock (a writing request's
    session that began again after its commit), so that another connection of the same request
    can write: the batched thread views at teardown waited for it the busy timeout long.  What
    it leaves is uncommitted, which the request's end rolls back anyway; reads, PostgreSQL and
    sessions holding no SQLite transaction (a ``locks_late`` request after its commit) are left
    alone."""
    if not session.in_transaction() or session.get_bind().dialect.name != "sqlite":
        return
    if _wants_write_lock() or session.connection().connection.dbapi_connection.in_transaction:
        session.rollback()


def _sqlite_on_begin(conn) -> None:
    """A writer's transaction takes the write lock first; others keep the driver's own
    transactions (reads outside one, ``BEGIN`` before the first write), so that a reader
    holds no snapshot that a later write of its own would find stale."""
    if conn.dialect.name == "sqlite" and _wants_write_lock():
        begin_immediate(conn)


def _sqlite_on_savepoint(conn, _name) -> None:
    """A savepoint (``begin_nested()``) is only taken by code about to write.  Outside a
    transaction SQLite's ``SAVEPOINT`` begins a deferred one, whose first read fixes a snapshot;
    when another connection commits before the write, the write fails at once with "database is
    locked" (a stale WAL snapshot, which no busy timeout waits out).  A GET that writes this way
    (the company sign-in's callback creating the account) takes the write lock first instead."""
    if conn.dialect.name == "sqlite":
        begin_immediate(conn)


def begin_immediate(conn) -> None:
    """SQLite's write lock for ``conn`` now (``BEGIN IMMEDIATE``), unless its transaction has
    begun already: the one way every writer here takes it (see ``configure_sqlite_connections``)."""
    if not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
