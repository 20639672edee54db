"""SQLite's writers wait their turn in a queue (``extensions.WriterQueueConnection``, a ``flock``
beside the database) before ``BEGIN IMMEDIATE``: a writer that finds another holding the write lock
starts as soon as that one commits or rolls back, instead of sleeping through SQLite's busy
handler's growing naps (1, 2, 5, ... 100 ms, not woken by the release)."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from community.extensions import WriterQueueConnection, begin_immediate, configure_sqlite_connections


@pytest.fixture()
def engine(tmp_path):
    configure_sqlite_connections()
    engine = create_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 0)")
    yield engine
    engine.dispose()


def _write(engine, hold: float, started: list, finished: list) -> None:
    with engine.connect() as conn:
        begin_immediate(conn)
        started.append(time.perf_counter())
        conn.execute(text("UPDATE t SET n = n + 1 WHERE id = 1"))
        time.sleep(hold)
        conn.commit()
        finished.append(time.perf_counter())   # the turn was given back in the commit


def test_a_file_database_connects_through_the_queue_and_memory_does_not(engine):
    with engine.connect() as conn:
        assert isinstance(conn.connection.dbapi_connection, WriterQueueConnection)
    memory = create_engine("sqlite://")
    with memory.connect() as conn:
        assert not isinstance(conn.connection.dbapi_connection, WriterQueueConnection)
    memory.dispose()


def test_a_waiting_writer_starts_when_the_writer_before_it_commits(engine):
    """Ten writers at once, each holding the lock 20 ms: the next one starts within a few ms of
    the commit before it (with SQLite's busy handler alone the gaps were 16-83 ms, median ~35),
    and none is lost."""
    started, finished = [], []
    threads = [threading.Thread(target=_write, args=(engine, 0.02, started, finished)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar() == 10
    started.sort()
    finished.sort()
    gaps = [b - a for a, b in zip(finished, started[1:])]
    assert sorted(gaps)[len(gaps) // 2] < 0.01, gaps   # the median: one late wake-up at load is not the rule


def _taken_in_another_thread(connection) -> bool:
    done = threading.Event()
    thread = threading.Thread(target=lambda: (connection.take_turn(), done.set()))
    thread.start()
    taken = done.wait(2)
    thread.join(5)
    return taken


def test_a_rollback_and_a_close_give_the_turn_back(engine):
    path = str(engine.url.database)
    first = sqlite3.connect(path, factory=WriterQueueConnection, isolation_level=None)
    second = sqlite3.connect(path, factory=WriterQueueConnection, isolation_level=None)
    first.take_turn()
    first.execute("BEGIN IMMEDIATE")
    first.rollback()
    assert _taken_in_another_thread(second), "the rollback kept the turn"
    second.close()
    third = sqlite3.connect(path, factory=WriterQueueConnection, isolation_level=None)
    assert _taken_in_another_thread(third), "the close kept the turn"
    third.give_turn()
    for conn in (first, third):
        conn.close()


def test_the_same_thread_does_not_wait_for_its_own_turn(engine):
    """A second connection of the thread that holds the queue (a request's other session) is not
    made to wait for itself: SQLite's busy timeout answers it, as before the queue."""
    first = engine.raw_connection()
    first.dbapi_connection.take_turn()
    second = sqlite3.connect(str(engine.url.database), factory=WriterQueueConnection, isolation_level=None)
    started = time.perf_counter()
    second.take_turn()
    assert time.perf_counter() - started < 1
    second.close()
    first.dbapi_connection.give_turn()
    first.close()
