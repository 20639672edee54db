"""One index writer for a whole bulk import, instead of one per commit.

The writer commits every ``SEARCH_BULK_COMMIT_EVERY`` documents (default
20,000), so an interrupted import leaves the index close to the database;
``flask search rebuild`` makes them equal.  ``SEARCH_IMPORT_PROCS=N``
(default 1) makes the writer analyse and write postings in N subprocesses,
each writing its own segment, while this process reads input and inserts
rows: worth it on an otherwise idle multi-core machine.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app


class BulkIndexer:
    def __init__(self, open_writer, commit_every: int):
        self._open = open_writer
        self.writer = open_writer()
        self.commit_every = commit_every
        self.count = 0
        self._since_commit = 0

    def add(self, docs: list[dict]) -> int:
        """Add documents of *new* rows (not already in the index); returns how many."""
        for doc in docs:
            self.writer.add_document(**doc)
        self.count += len(docs)
        self._since_commit += len(docs)
        if self._since_commit >= self.commit_every:
            self.writer.commit()
            self.writer = self._open()
            self._since_commit = 0
        return len(docs)


@contextmanager
def bulk_writer(timeout: float = 300.0) -> Iterator[BulkIndexer]:
    """Hold the index lock for a bulk job; committed at the end, also after an error,
    so what the database already committed is searchable."""
    config = current_app.config
    state = current_app.extensions["search"]
    procs = min(int(config.get("SEARCH_IMPORT_PROCS") or 1), os.cpu_count() or 1)
    options = {"procs": procs, "multisegment": True, "batchsize": 200} if procs > 1 else {}
    indexer = BulkIndexer(lambda: state.index.writer(timeout=timeout, limitmb=128, **options),
                          int(config.get("SEARCH_BULK_COMMIT_EVERY") or 20000))
    try:
        yield indexer
    finally:
        indexer.writer.commit()
