"""Flask extensions, created unbound and initialised by the app factory."""
import os
import sqlite3
import threading
from contextlib import contextmanager
from contextvars import ContextVar

try:
    import fcntl
except ImportError:   # not POSIX: SQLite's writers wait in its busy handler only
    fcntl = None

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
    event.listen(Engine, "do_connect", _sqlite_writer_queue)
    event.listen(Engine, "connect", _sqlite_on_connect)
    event.listen(Engine, "begin", _sqlite_on_begin)
    event.listen(Engine, "savepoint", _sqlite_on_savepoint)


def _sqlite_writer_queue(dialect, _record, cargs, cparams) -> None:
    """A SQLite file's connections are ``WriterQueueConnection``s (unless the caller chose a factory)."""
    if fcntl is None or dialect.name != "sqlite" or "factory" in cparams or cparams.get("uri"):
        return
    database = cargs[0] if cargs else cparams.get("database", "")
    if database and database != ":memory:":
        cparams["factory"] = WriterQueueConnection


#: The writers' queues this thread holds (paths): a second connection of the same thread does
#: not wait in a queue its own first one holds (SQLite's busy timeout answers it, as before).
_QUEUES_HELD = threading.local()


class WriterQueueConnection(sqlite3.Connection):
    """A SQLite connection whose writers wait their turn on a file lock (``flock``) beside the
    database before ``BEGIN IMMEDIATE``, and give it back when their transaction ends.

    SQLite's own wait for its write lock is its busy handler, which sleeps 1, 2, 5, 10, 15, 20,
    25, ... up to 100 ms between tries and is not woken when the lock is released: a writer that
    found the lock taken often found it taken again at its next try, by the writer that had just
    released it, and waited for hundreds of milliseconds while the other ran on.  Two processes
    each running 2 ms of CPU, ``BEGIN IMMEDIATE``, 2 ms under the lock and the commit
    (``bench/sqlite_writer_wait.py``): the wait for the lock at p99 231-439 ms with the busy
    handler, 30-33 ms in the queue.  A waiter is woken by the kernel when the lock is let go,
    without polling.  SQLite's lock still decides: a writer that did not queue (a transaction
    begun deferred, another program) is waited for by SQLite as before.  The kernel lets go of
    a dead process's turn; a sync worker stuck in a request is killed by gunicorn's timeout."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._queue_path = f"{os.path.abspath(os.fspath(database))}-writers.lock"
        self._queue_fd = None
        self._queue_held = None   # the holding thread's set of held queues, while held

    def take_turn(self) -> None:
        """Wait until no other connection's writer holds the queue (no wait when this thread
        holds it through another connection: that one's transaction is this thread's to end)."""
        held = _QUEUES_HELD.__dict__.setdefault("paths", set())
        if self._queue_held is not None or self._queue_path in held:
            return
        if self._queue_fd is None:
            try:
                self._queue_fd = os.open(self._queue_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:   # a read-only folder: SQLite's own wait only
                return
        fcntl.flock(self._queue_fd, fcntl.LOCK_EX)
        self._queue_held = held
        held.add(self._queue_path)

    def give_turn(self) -> None:
        """Let the next writer in (from any thread: the holder's own set is told)."""
        if self._queue_held is not None:
            self._queue_held.discard(self._queue_path)
            self._queue_held = None
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)

    def commit(self):
        try:
            super().commit()
        finally:
            self.give_turn()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self.give_turn()

    def close(self):
        try:
            super().close()
        finally:
            self.give_turn()
            if self._queue_fd is not None:
                os.close(self._queue_fd)
                self._queue_fd = None


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
    raw = conn.connection.dbapi_connection
    if raw.in_transaction:
        return
    if isinstance(raw, WriterQueueConnection):
        raw.take_turn()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            raw.give_turn()
            raise
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
