"""The indexing queue: index updates leave the request, and none is lost.

Whoosh: every change's documents.  PostgreSQL search (``TableQueue``): the updates of documents
that exist (a reply, a vote, an accept, an edit); a new document, and one that leaves or joins
what search shows (hidden, deleted, merged), is still written in the writing transaction
(``listeners.py``), so a new question is suggested by every app server the moment it commits.
A reply's document write there (the thread read again, under an advisory lock on its key held
to the commit) was ~40 % of a reply's request in-process (``bench/write_profile.py``) and
serialized the replies of a thread.

Why: re-indexing a thread in the request that changed it read the whole thread again and
committed a Whoosh segment, about half of a reply's time (docs/deploy.md, "Writes"), and
every worker's next search reopened its searchers after each such commit.

How:

- **In the writer's transaction.**  Just before a transaction commits, the documents it
  changed (the keys ``listeners.py`` collected) are inserted into ``search_queue``
  (``SearchQueueEntry``) in that same transaction: a committed change always has its row,
  a rolled-back one never has.
- **After the commit.**  The process's *applier*, a daemon thread started on first use in
  each process (after gunicorn forks), is woken and applies the queue in the background.
  With ``SEARCH_INDEX_SYNC`` (default: on under ``TESTING``, off otherwise) the queue is
  applied in the request itself, right after its commit, so the next request finds the post.
- **Applying.**  Take Whoosh's writer lock (one writer across every process on the index's
  directory), *then* read the oldest ``BATCH`` rows, then their documents from the
  database, write them, commit the index, and delete exactly the rows read.  Lock first,
  read after: whoever writes last has read the latest state, so an older document never
  overwrites a newer one.  A row committed after the read stays for the next round (queue
  ids are never reused, so the delete, which comes after the index lock is released and may
  follow another worker's round over the same rows, cannot take a newer row).  A
  crash between the index's commit and the delete applies those rows again (harmless: a
  document is read afresh each time).
- **Gathering.**  Woken, the applier waits ``SEARCH_QUEUE_GATHER_SECONDS`` (0.1 s) before its
  round, so the replies of that moment share one Whoosh commit: the round's cost (the index
  lock, the segment written, every searcher reopened) was paid once per reply, and the replies
  to one thread are one document.  A post is searchable that much later.
- **Busy lock.**  Another process is applying; its read may have missed our rows, so the
  applier tries again after ``RETRY_SECONDS``.  Every applier also looks at the queue every
  ``SEARCH_QUEUE_POLL_SECONDS`` (one ``SELECT ... LIMIT 1``), so rows left by a worker that
  died are applied by another.
- **Delay.**  A committed change is searchable once the round after its commit ends: the
  gathering wait plus the round, in the bench (docs/deploy.md) well under a second; at most ``SEARCH_QUEUE_POLL_SECONDS`` plus a
  round when its own process died.  ``flask search apply`` applies the queue now;
  ``flask search status`` shows how many updates wait.

The database stays the source of truth: ``flask search rebuild`` rebuilds the index from
it at any time, and ``flask check`` reports an index that differs from it.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from whoosh.index import LockError

from .. import background
from ..background import ProcessThread

log = logging.getLogger(__name__)

#: Rows applied per index commit (a round takes them oldest first).
BATCH = 500
#: Seconds before trying again after the index lock was busy.
RETRY_SECONDS = 0.2


def enqueue(session: Session, keys: Iterable[str]) -> None:
    """Insert a queue row per key in ``session``'s transaction (called just before its commit)."""
    from ..models import SearchQueueEntry

    rows = [{"key": key} for key in sorted(set(keys))]
    if rows:
        session.execute(insert(SearchQueueEntry), rows)


def pending(session: Session) -> int:
    """Index updates waiting."""
    from sqlalchemy import func

    from ..models import SearchQueueEntry

    return session.execute(select(func.count()).select_from(SearchQueueEntry)).scalar_one()


class _Queue(ProcessThread):
    """What both appliers share: woken after a commit (or applying at once, ``SEARCH_INDEX_SYNC``),
    polling, drained at exit (the thread itself is ``community/background.py``'s)."""

    thread_name = "search-queue"
    failure_message = "Applying the search queue failed; retrying in %.0fs."

    def __init__(self, app):
        config = app.config
        super().__init__(float(config.get("SEARCH_QUEUE_POLL_SECONDS", 2.0)),
                         float(config.get("SEARCH_QUEUE_GATHER_SECONDS", 0.0)))
        self.app = app
        sync = config.get("SEARCH_INDEX_SYNC")
        self.sync = app.testing if sync is None else bool(sync)
        self.lock_timeout = float(config.get("SEARCH_LOCK_TIMEOUT", 5.0))
        self._apply_lock = threading.Lock()  # one round at a time in this process

    # -- after a commit ---------------------------------------------------------

    def committed(self) -> None:
        """A transaction that queued updates has committed: apply now (sync) or wake the applier."""
        if self.sync:
            try:
                if self.apply(lock_timeout=self.lock_timeout) is not None:
                    return
            except Exception:  # the commit succeeded; search must not turn it into an error page
                log.exception("Applying the search queue failed; the applier tries again.")
        self.wake()

    def run_round(self) -> float | None:
        if self._has_rows() and self.apply(lock_timeout=1.0) is None:
            return RETRY_SECONDS  # another process holds the lock: our rows may be after its read
        return None

    def drain(self) -> None:
        """A worker stopping cleanly applies what it queued (another would, within a poll)."""
        try:
            if self._has_rows():
                self.apply(lock_timeout=self.lock_timeout)
        except Exception:  # noqa: BLE001 - at exit: the rows stay for the next applier
            log.warning("The search queue was not applied at exit; the next applier will.", exc_info=True)

    # -- applying ----------------------------------------------------------------

    def _has_rows(self) -> bool:
        from ..extensions import db
        from ..models import SearchQueueEntry

        with self.app.app_context(), Session(db.engine) as session:
            return session.execute(select(SearchQueueEntry.id).limit(1)).first() is not None

    def apply(self, *, lock_timeout: float = 5.0) -> int | None:
        """Apply every waiting update; the number of documents written, ``None`` if the index
        stayed locked by another writer for ``lock_timeout`` seconds (rows left for later)."""
        done = 0
        with self._apply_lock:
            while True:
                written = self._round(lock_timeout)
                if written is None:
                    return None if done == 0 else done
                done += written[0]
                if written[1] < BATCH:
                    return done

    def _round(self, lock_timeout: float) -> tuple[int, int] | None:
        """One round: ``(documents written, rows read)``; ``None`` when the lock stayed busy."""
        raise NotImplementedError


class IndexQueue(_Queue):
    """The Whoosh applier of one app in this process (see the module's docstring)."""

    def __init__(self, app, index, loader: Callable[[list[str]], dict]):
        super().__init__(app)
        self.index = index
        self.loader = loader

    def _round(self, lock_timeout: float) -> tuple[int, int] | None:
        """One index commit: ``(documents written, rows read)``; ``None`` when the lock stayed busy."""
        from ..extensions import db
        from ..models import SearchQueueEntry

        try:
            writer = self.index.writer(timeout=lock_timeout)
        except LockError:
            return None
        try:
            with self.app.app_context(), Session(db.engine) as session:
                rows = session.execute(select(SearchQueueEntry.id, SearchQueueEntry.key)
                                       .order_by(SearchQueueEntry.id).limit(BATCH)).all()
        except BaseException:
            writer.cancel()
            raise
        if not rows:
            writer.cancel()
            return 0, 0
        keys = sorted({key for _, key in rows})
        self.index.write_documents(writer, keys, self.loader)
        # After the index holds them, and only the rows read: one committed since stays.
        with self.app.app_context(), Session(db.engine) as session:
            session.execute(delete(SearchQueueEntry).where(SearchQueueEntry.id.in_([i for i, _ in rows])))
            session.commit()
        return len(keys), len(rows)


class TableQueue(_Queue):
    """The applier of a backend whose documents are rows of the database (PostgreSQL search):
    the updates of documents that exist, queued by ``listeners.py`` (a reply, a vote, an accept,
    an edit: new documents and visibility changes are written in their own transaction).  One
    transaction a round: take the oldest rows ``FOR UPDATE SKIP LOCKED`` (two appliers never
    take one), write their documents with the backend's ``write`` (which locks each key, then
    reads it: whoever writes last has read the latest state), delete the rows, commit; a round
    that fails leaves its rows."""

    def __init__(self, app, state):
        super().__init__(app)
        self.state = state

    def _round(self, lock_timeout: float) -> tuple[int, int]:
        from ..extensions import db
        from ..models import SearchQueueEntry

        with self.app.app_context(), Session(db.engine) as session, session.begin():
            rows = session.execute(select(SearchQueueEntry.id, SearchQueueEntry.key).order_by(SearchQueueEntry.id)
                                   .limit(BATCH).with_for_update(skip_locked=True)).all()
            if not rows:
                return 0, 0
            keys = sorted({key for _, key in rows})
            self.state.write(session, keys)
            session.execute(delete(SearchQueueEntry).where(SearchQueueEntry.id.in_([i for i, _ in rows])))
        return len(keys), len(rows)


def stop_all(timeout: float = 5.0) -> None:
    """Stop every applier of this process (tests: an app a test made, on a database it then
    drops, must not leave a thread polling it for the rest of the run)."""
    for queue in background.running(_Queue):
        if queue._thread is not None:
            queue.stop(timeout)
