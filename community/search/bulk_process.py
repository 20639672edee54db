"""A bulk import's Whoosh writers in processes of their own, so that indexing runs beside the inserts.

Whoosh analyses and writes postings in pure Python: at a bulk import that is
about as much CPU as the SQL and the reading of the input together.  Here
``INDEX_CHILDREN`` child processes (forked, so they have the app's schema and
analyzer already loaded) each write segments with a :func:`bulk.fast_writer`;
the importer hands each committed batch's documents to one of them and goes on
with the next batch while they are indexed.

The documents go in runs of ``SEARCH_BULK_COMMIT_EVERY`` (a run ends after the
batch that reaches it, as the one writer of before committed), each run one
segment, the runs dealt to the children in turn: while one child writes its
segment's postings (the commit, a third of the index's CPU) or adds the next
run, another adds its own.  The segments join the index in the runs' order,
so the documents keep the numbers one writer gives them (the ranking breaks
ties by document number) and the index is the one a single writer committing
every ``SEARCH_BULK_COMMIT_EVERY`` documents writes (``test_bulk_process.py``).

A third, idle process, the lock's keeper, takes the index lock before any
segment is written (the importing process never holds it, so no process
inherits it through a fork) and keeps it for the whole import; it writes each
new table of contents (a few milliseconds) as soon as the segments before it
are written, so an interrupted import leaves the index close to the database,
and no table of contents is written by a process that does not hold the lock.
At most ``MAX_IN_FLIGHT`` batches wait for each child, which bounds the memory
of documents in transit and means a failure in a child (the lock not free, a
full disk, a killed process) stops the import within a few batches, raised in
the importing process.  Closing waits for the children and commits what they
wrote, also after an error, so what the database committed is searchable.
"""
from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor

#: Batches handed to a child and not yet indexed before ``add`` waits for it.
MAX_IN_FLIGHT = 2
#: Processes writing segments (at most one per CPU).
INDEX_CHILDREN = 2

#: The app's :class:`whoosh_index.WhooshIndex`, set before the fork (the children use their copy).
_index = None
#: This child's writer of the segment being written (``None`` between runs).
_writer = None
#: The import's index lock, in the keeper.
_lock = None
#: Whether the keeper wrote a table of contents in this import.
_committed = False
#: Why this child could not go on (then every later call fails with it).
_failed: Exception | None = None


def _child_ready() -> bool:
    return _index is not None


def _guarded(call):
    """Run ``call`` in the child; after a first failure every later call raises it at once
    (the batches behind a lock not had fail without a timeout each)."""
    global _failed
    if _failed is not None:
        raise _failed
    try:
        return call()
    except Exception as exc:
        _failed = exc
        raise


def _child_lock(timeout: float) -> None:
    """Take the index lock (``LockError`` if another writer keeps it past ``timeout``)."""
    def take():
        global _lock
        _lock = _index.import_lock(timeout)

    _guarded(take)


def _child_add(docs: list[dict]) -> int:
    """Add ``docs`` to this child's segment, opening one for a new run."""
    def add():
        global _writer
        from .bulk import fast_writer

        if _writer is None:
            _writer = fast_writer(_index.segment_writer())
        for doc in docs:
            _writer.add_document(**doc)
        return len(docs)

    return _guarded(add)


def _child_end_segment():
    """Write the run's segment (its postings, lengths, stored fields); the segment, or
    ``None`` when nothing was added."""
    def end():
        global _writer
        from .bulk import finish_segment

        writer, _writer = _writer, None
        return finish_segment(writer) if writer is not None else None

    return _guarded(end)


def _child_commit(segments: list, final: bool) -> None:
    """In the lock's keeper: a new table of contents with ``segments`` after the index's own;
    ``final`` also removes the files of no segment (none is being written then) and the writers'
    temporary folder, and releases the lock."""
    global _lock, _committed
    if _lock is None:
        raise RuntimeError("the import's index lock is not held: nothing committed")
    try:
        if segments or (final and _committed):  # an import that indexed nothing commits nothing
            _index.add_segments(segments, clean=final)
            _committed = True
    finally:
        if final:
            ix = _index.index()
            ix.storage.temp_storage(f"{ix.indexname}.tmp").destroy()
            lock, _lock = _lock, None
            lock.release()


class ProcessIndexer:
    """``bulk_writer()``'s indexer when the documents are written by child processes."""

    def __init__(self, index, commit_every: int, timeout: float, children: int | None = None):
        global _index
        self.count = 0
        self.commit_every = commit_every
        count = children or min(INDEX_CHILDREN, os.cpu_count() or 1)
        context = multiprocessing.get_context("fork")
        _index = index
        try:
            self._pools = [ProcessPoolExecutor(1, mp_context=context) for _ in range(count)]
            self._keeper = ProcessPoolExecutor(1, mp_context=context)  # the lock and the commits
            for pool in [*self._pools, self._keeper]:
                assert pool.submit(_child_ready).result()  # forked now, with the index
        finally:
            _index = None
        self._locked = self._keeper.submit(_child_lock, timeout)
        self._pending: list[deque[Future]] = [deque() for _ in self._pools]
        #: The runs' segments not yet committed, in the runs' order.
        self._segments: deque[Future] = deque()
        self._child, self._in_run = 0, 0

    def add(self, docs: list[dict]) -> int:
        """Queue documents of *new* rows for this run's child; returns how many (raises a child's error)."""
        if not docs:
            return 0
        self._locked.result()  # no segment is written before the lock is held (raises LockError)
        pending, pool = self._pending[self._child], self._pools[self._child]
        pending.append(pool.submit(_child_add, docs))
        while len(pending) > MAX_IN_FLIGHT or (pending and pending[0].done()):
            pending.popleft().result()
        self.count += len(docs)
        self._in_run += len(docs)
        if self._in_run >= self.commit_every:
            self._end_run()
        while self._segments and self._segments[0].done():
            self._commit(self._segments.popleft().result())
        return len(docs)

    def _end_run(self) -> None:
        """The run's segment to be written by its child; the run before it committed first (its
        child takes the next run: the importer would soon wait for it anyway)."""
        self._segments.append(self._pools[self._child].submit(_child_end_segment))
        self._child, self._in_run = (self._child + 1) % len(self._pools), 0
        while len(self._segments) > 1:
            self._commit(self._segments.popleft().result())

    def _commit(self, segment) -> None:
        """A new table of contents with ``segment``, written by the lock's keeper (idle between
        commits: a few milliseconds)."""
        if segment is not None:
            self._keeper.submit(_child_commit, [segment], False).result()

    def unindexed(self, session, keys: list[str]) -> list[str]:
        """Keys the committed index has no document for (read in this process: the threads an
        earlier run committed, never this run's, whose documents a child may not have committed)."""
        from .bulk import unindexed

        return unindexed(keys)

    def close(self) -> None:
        """Wait for every queued batch, then commit every segment written, in order (also when a
        child failed: what the others wrote is committed), then raise the first error."""
        errors: list[BaseException] = []
        for pending in self._pending:
            errors.extend(filter(None, (future.exception() for future in pending)))
        try:
            self._segments.append(self._pools[self._child].submit(_child_end_segment))
        except Exception as exc:  # noqa: BLE001 - that child's pool is broken: raised below
            errors.append(exc)
        written = []
        for future in self._segments:
            if future.exception() is None:
                written.append(future.result())
            else:
                errors.append(future.exception())
        try:
            if self._locked.exception() is None:
                self._keeper.submit(_child_commit, [s for s in written if s is not None], True).result()
        finally:
            for pool in [*self._pools, self._keeper]:
                pool.shutdown()
        if errors:
            raise errors[0]
