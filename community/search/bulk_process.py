"""A bulk import's Whoosh writer in a process of its own, so that indexing runs beside the inserts.

Whoosh analyses and writes postings in pure Python: at a bulk import that is
about as much CPU as the SQL and the reading of the input together, and it all
ran in the importing process, one batch after the other.  Here one child
process (forked, so it has the app's schema and analyzer already loaded) holds
the index lock and the :func:`bulk.fast_writer` for the whole import; the
importer hands it each committed batch's documents and goes on with the next
batch while they are indexed.

The child takes the lock itself (the importing process never holds it, so no
process inherits it through a fork).  At most ``MAX_IN_FLIGHT`` batches wait
for the child, which bounds the memory of documents in transit and means a
failure in the child (the lock not free, a full disk) stops the import within
a few batches, raised in the importing process.  Closing waits for the child
and commits, also after an error, so what the database committed is searchable.
"""
from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor

#: Batches handed to the child and not yet indexed before ``add`` waits.
MAX_IN_FLIGHT = 2

#: ``(open_writer, commit_every)``, set before the fork: a closure cannot be pickled to the child.
_factory = None
#: The child's indexer (one per child process: the pool has one worker).
_indexer = None
#: Why the child could not open its writer (then every later batch fails with it).
_failed: Exception | None = None


def _child_ready() -> bool:
    return _factory is not None


def _child_add(docs: list[dict]) -> int:
    """Index ``docs`` in the child; the first call takes the index lock (``LockError`` if busy)."""
    global _indexer, _failed
    if _failed is not None:
        raise _failed  # the lock was not had: the batches behind fail at once, not after a timeout each
    if _indexer is None:
        from .bulk import BulkIndexer

        try:
            _indexer = BulkIndexer(*_factory)
        except Exception as exc:
            _failed = exc
            raise
    return _indexer.add(docs)


def _child_commit() -> int:
    global _indexer
    count = 0
    if _indexer is not None:
        _indexer.writer.commit()
        count, _indexer = _indexer.count, None
    return count


class ProcessIndexer:
    """``bulk_writer()``'s indexer when the documents are written by a child process."""

    def __init__(self, open_writer, commit_every: int):
        global _factory
        self.count = 0
        _factory = (open_writer, commit_every)
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        try:
            assert self._pool.submit(_child_ready).result()  # forked now, with the factory
        finally:
            _factory = None
        self._pending: deque[Future] = deque()

    def add(self, docs: list[dict]) -> int:
        """Queue documents of *new* rows for the child; returns how many (raises the child's error)."""
        if not docs:
            return 0
        self._pending.append(self._pool.submit(_child_add, docs))
        while len(self._pending) > MAX_IN_FLIGHT or (self._pending and self._pending[0].done()):
            self._pending.popleft().result()
        self.count += len(docs)
        return len(docs)

    def unindexed(self, session, keys: list[str]) -> list[str]:
        """Keys the committed index has no document for (read in this process: the threads an
        earlier run committed, never this run's, whose documents the child may not have committed)."""
        from .bulk import unindexed

        return unindexed(keys)

    def close(self) -> None:
        """Wait for every queued batch, then commit in the child (also when a batch failed)."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            try:
                self._pool.submit(_child_commit).result()
            finally:
                self._pool.shutdown()
