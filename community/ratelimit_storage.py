"""Rate-limit counters in a SQLite file, shared by every worker process of one machine.

The default storage when ``REDIS_URL`` is not set (``RATELIMIT_STORAGE_URI`` =
``sqlite:///<instance>/ratelimits.sqlite3``).  Flask-Limiter's ``memory://`` keeps a
counter per process, so with ``gunicorn -w 4`` every limit was four limits.  Here each hit
is one ``BEGIN IMMEDIATE`` transaction on a file of its own (apart from the application's
database, so a request that rolls back keeps its hits, and limits cost the database nothing):
count the hits in the window, refuse or insert, commit.  SQLite serializes those
transactions across processes, so a limit of 10 lets exactly 10 through.

Registered with the ``limits`` library under the ``sqlite://`` scheme; implements its
moving-window interface (the strategy ``ratelimit.py`` uses).
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from limits.storage import MovingWindowSupport, Storage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS ix_hits_key_at ON hits (key, at);
"""


class SQLiteStorage(Storage, MovingWindowSupport):
    """``sqlite:////absolute/path.sqlite3`` (four slashes) or ``sqlite:///relative/path``."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if not uri.startswith("sqlite:///"):
            raise ValueError("Write the rate-limit file as sqlite:////absolute/path or sqlite:///relative/path")
        self.path = uri[len("sqlite:///"):]
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None

    @property
    def base_exceptions(self):
        return sqlite3.Error

    # -- connection (one per process: a connection must not cross a fork) ----------------

    def _db(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(_SCHEMA)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def _write(self, work):
        """``work(connection)`` inside one ``BEGIN IMMEDIATE`` transaction (the write lock first)."""
        with self._lock:
            connection = self._db()
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return result

    # -- moving window -----------------------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()

        def work(connection):
            connection.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, now - expiry))
            (count,) = connection.execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()
            if count + amount > limit:
                return False
            connection.executemany("INSERT INTO hits (key, at) VALUES (?, ?)", [(key, now)] * amount)
            return True

        return self._write(work)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        with self._lock:
            oldest, count = self._db().execute(
                "SELECT MIN(at), COUNT(*) FROM hits WHERE key = ? AND at > ?", (key, now - expiry)).fetchone()
        return (oldest if oldest is not None else now), count

    # -- the fixed-window interface (Flask-Limiter's own decorators) ---------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()

        def work(connection):
            connection.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, now - expiry))
            connection.executemany("INSERT INTO hits (key, at) VALUES (?, ?)", [(key, now)] * amount)
            return connection.execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()[0]

        return self._write(work)

    def get(self, key: str) -> int:
        with self._lock:
            return self._db().execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()[0]

    def get_expiry(self, key: str) -> float:
        with self._lock:
            (oldest,) = self._db().execute("SELECT MIN(at) FROM hits WHERE key = ?", (key,)).fetchone()
        return oldest if oldest is not None else time.time()

    def check(self) -> bool:
        try:
            with self._lock:
                self._db().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._write(lambda connection: connection.execute("DELETE FROM hits").rowcount)

    def clear(self, key: str) -> None:
        self._write(lambda connection: connection.execute("DELETE FROM hits WHERE key = ?", (key,)))
