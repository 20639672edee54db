"""One index writer for a whole bulk import, instead of one per commit.

``SEARCH_IMPORT_PROCS=N`` (default 1) makes the writer analyse and write
postings in N subprocesses, each writing its own segment, while this process
reads input and inserts rows: worth it on an otherwise idle multi-core machine.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import os

from flask import current_app


class BulkIndexer:
    def __init__(self, writer):
        self.writer = writer
        self.count = 0

    def add(self, docs: list[dict]) -> int:
        """Add documents of *new* rows (not already in the index); returns how many."""
        for doc in docs:
            self.writer.add_document(**doc)
        self.count += len(docs)
        return len(docs)


@contextmanager
def bulk_writer(timeout: float = 300.0) -> Iterator[BulkIndexer]:
    """Hold the index lock for a bulk job; committed at the end (also after an error,
    so what the database already committed is searchable)."""
    state = current_app.extensions["search"]
    procs = min(int(current_app.config.get("SEARCH_IMPORT_PROCS") or 1), os.cpu_count() or 1)
    options = {"procs": procs, "multisegment": True, "batchsize": 200} if procs > 1 else {}
    writer = state.index.writer(timeout=timeout, limitmb=128, **options)
    indexer = BulkIndexer(writer)
    try:
        yield indexer
    finally:
        writer.commit()
