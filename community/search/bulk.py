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


class TermPool:
    """Whoosh's posting pool for a bulk writer, without the sort of every posting at commit.

    Whoosh's ``PostingPool`` keeps each posting as a tuple ``(field, term,
    docnum, weight, value)`` and sorts them all at commit (in pickled runs on
    disk past ``limitmb``); its field writer then reads every posting's field
    length back from the column file just written.  Documents arrive in
    docnum order, so here postings are grouped by field and term as they come
    (each group already sorted), the lengths are kept as the per-document
    writer records them, and the commit feeds the field writer directly.
    Memory is what the postings take: the bulk writer commits every
    ``SEARCH_BULK_COMMIT_EVERY`` documents.
    """

    def __init__(self):
        self.fields: dict[str, dict[bytes, list]] = {}
        self.lengths: dict[str, dict[int, int]] = {}
        self.fieldnames: set[str] = set()

    def add(self, item) -> None:
        fieldname, tbytes, docnum, weight, value = item
        terms = self.fields.get(fieldname)
        if terms is None:
            self.fields[fieldname] = terms = {}
            self.fieldnames.add(fieldname)
        group = terms.get(tbytes)
        if group is None:
            terms[tbytes] = group = []
        group.append((docnum, weight, value))

    def iter_postings(self):
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            for tbytes in sorted(terms):
                for docnum, weight, value in self._sorted(terms[tbytes]):
                    yield fieldname, tbytes, docnum, weight, value

    @staticmethod
    def _sorted(group: list) -> list:
        if any(group[i][0] > group[i + 1][0] for i in range(len(group) - 1)):
            group.sort(key=lambda posting: posting[0])  # merged segments may interleave
        return group

    def write(self, writer) -> None:
        """``SegmentWriter._flush_segment`` for this pool: postings straight to the field writer."""
        writer.perdocwriter.close()
        fieldwriter = writer.fieldwriter
        schema = writer.schema
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            lengths = self.lengths.get(fieldname, {})
            fieldwriter.start_field(fieldname, schema[fieldname])
            add = fieldwriter.add
            for tbytes in sorted(terms):
                fieldwriter.start_term(tbytes)
                for docnum, weight, value in self._sorted(terms[tbytes]):
                    if docnum == -1:  # Whoosh's marker of a spelling word, not a posting
                        continue
                    add(docnum, weight, b"" if value is None else value, lengths.get(docnum, 0))
                fieldwriter.finish_term()
            fieldwriter.finish_field()
        fieldwriter.close()

    def cleanup(self) -> None:
        self.fields, self.lengths = {}, {}


def fast_writer(writer):
    """``writer`` (a fresh ``SegmentWriter``) using a :class:`TermPool`."""
    from whoosh.util.numeric import byte_to_length, length_to_byte

    pool = TermPool()
    writer.pool = pool
    perdoc = writer.perdocwriter
    record = perdoc.add_field

    def add_field(fieldname, fieldobj, value, length):
        if length:  # the length Whoosh stores (one byte) and its field writer would read back
            pool.lengths.setdefault(fieldname, {})[writer.docnum] = byte_to_length(length_to_byte(length))
        record(fieldname, fieldobj, value, length)

    perdoc.add_field = add_field
    writer._flush_segment = lambda: pool.write(writer)
    return writer


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
    if getattr(state, "in_transaction", False):
        from .postgres import PostgresBulkIndexer

        yield PostgresBulkIndexer(state)
        return
    procs = min(int(config.get("SEARCH_IMPORT_PROCS") or 1), os.cpu_count() or 1)
    options = {"procs": procs, "multisegment": True, "batchsize": 200} if procs > 1 else {}
    if procs > 1:
        def open_writer():
            return state.index.writer(timeout=timeout, limitmb=256, **options)
    else:
        def open_writer():
            return fast_writer(state.index.writer(timeout=timeout))
    indexer = BulkIndexer(open_writer, int(config.get("SEARCH_BULK_COMMIT_EVERY") or 20000))
    try:
        yield indexer
    finally:
        indexer.writer.commit()
