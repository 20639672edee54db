"""Thread views, counted in batches rather than written on every page view.

A thread counts one view per viewer per day (``thread_views`` keeps who saw what on which
day; its unique key makes the count exact across workers).  Writing that row and bumping
``threads.view_count`` on every page view made each read a write; instead each worker
keeps the views it saw in memory and writes them every ``VIEW_COUNT_FLUSH_SECONDS``
(or once ``VIEW_COUNT_FLUSH_MAX`` are waiting) in one transaction: the new rows are
inserted with ``ON CONFLICT DO NOTHING``, and only the rows actually inserted add to the
counts.  A reader of a duplicate is counted on its original too (expanded at flush time,
so a page served from the cache needs no query).  ``VIEW_COUNT_FLUSH_SECONDS = 0`` writes
each view at the end of its request.  What a worker held when it died is lost (at most
that many seconds of views); on a clean exit it is written.
"""
from __future__ import annotations

import atexit
import hashlib
import threading
import time
import weakref
from collections import Counter

from flask import Flask, current_app
from sqlalchemy import bindparam, select, update

from ...extensions import db, release_write_lock
from ...models import DuplicateLink, Thread, ThreadView, utcnow

_CHUNK = 500
#: Apps of this process with a buffer, written at exit.
_APPS: weakref.WeakSet = weakref.WeakSet()


class _Pending:
    """The views one app in this process has seen and not written yet."""

    def __init__(self):
        self.views: set[tuple[int, str, str]] = set()
        self.lock = threading.Lock()
        self.last_flush = time.monotonic()

    def take(self) -> list[tuple[int, str, str]]:
        with self.lock:
            views, self.views = list(self.views), set()
            self.last_flush = time.monotonic()
        return views


def _pending() -> _Pending:
    return current_app.extensions["view_counts"]


def record(thread_id: int, viewer: str) -> None:
    """One view of ``thread_id`` by ``viewer`` today (written at the next flush)."""
    pending = _pending()
    with pending.lock:
        pending.views.add((thread_id, viewer[:64], utcnow().strftime("%Y-%m-%d")))


def anonymous_viewer(remote_addr: str | None, user_agent: str) -> str:
    """The viewer a visitor with no account counts as: their address and browser, hashed."""
    raw = f"{remote_addr}|{user_agent}"
    return "a" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def record_and_flush(thread_id: int, viewer: str) -> None:
    """``record``, then the batch written if due: for a page answered outside a request (the
    kept pages' front door), whose teardown does not run."""
    record(thread_id, viewer)
    try:
        flush_if_due()
    except Exception:  # noqa: BLE001 - a failed write must not fail the page; logged
        current_app.logger.exception("writing the batched thread views failed")


def flush_if_due() -> int:
    """Write the waiting views when the interval has passed or enough are waiting."""
    pending = _pending()
    if not pending.views:
        return 0
    due = time.monotonic() - pending.last_flush >= current_app.config["VIEW_COUNT_FLUSH_SECONDS"]
    if not due and len(pending.views) < current_app.config["VIEW_COUNT_FLUSH_MAX"]:
        return 0
    return flush()


def flush() -> int:
    """Write every waiting view in one transaction; returns how many views counted."""
    views = _pending().take()
    if not views:
        return 0
    counted: Counter[int] = Counter()
    # changes_pages=False: a view count alone does not throw kept pages away (page_cache.py).
    with db.engine.begin() as conn:
        conn.execution_options(changes_pages=False)
        originals = dict(conn.execute(select(DuplicateLink.thread_id, DuplicateLink.original_id)
                                      .where(DuplicateLink.thread_id.in_({v[0] for v in views}))).all())
        rows = {(t, viewer, day) for t, viewer, day in views}
        rows |= {(originals[t], viewer, day) for t, viewer, day in views if t in originals}
        rows = sorted(rows)
        for start in range(0, len(rows), _CHUNK):
            chunk = [{"thread_id": t, "viewer": v, "day": d} for t, v, d in rows[start:start + _CHUNK]]
            inserted = conn.execute(_insert_new(conn).values(chunk).returning(ThreadView.thread_id))
            counted.update(thread_id for (thread_id,) in inserted)
        if counted:
            conn.execute(update(Thread).where(Thread.id == bindparam("tid"))
                         .values(view_count=Thread.view_count + bindparam("n")),
                         [{"tid": t, "n": n} for t, n in sorted(counted.items())])
    return sum(counted.values())


def _insert_new(conn):
    """``INSERT ... ON CONFLICT DO NOTHING`` for this database (a view already counted stays one)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(ThreadView).on_conflict_do_nothing()


def init_app(app: Flask) -> None:
    """The app's buffer, written after requests when due and when the process exits."""
    app.extensions["view_counts"] = _Pending()

    @app.teardown_request
    def _write_views(_error=None):
        # A writing request's session that began a transaction again after its commit (SQLite:
        # BEGIN IMMEDIATE) held the write lock while the flush waited for it on another
        # connection, the busy timeout (30 s) long, and then lost the views.
        release_write_lock(db.session())
        try:
            flush_if_due()
        except Exception:  # noqa: BLE001 - a failed write must not fail the page; logged
            app.logger.exception("writing the batched thread views failed")

    if not _APPS and not _flush_every_app.registered:
        atexit.register(_flush_every_app)
        _flush_every_app.registered = True
    _APPS.add(app)


def _flush_every_app() -> None:
    for app in list(_APPS):
        if app.extensions["view_counts"].views:
            with app.app_context():
                flush()


_flush_every_app.registered = False
