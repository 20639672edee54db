"""One index writer for a whole bulk import, instead of one per commit.

The writer commits every ``SEARCH_BULK_COMMIT_EVERY`` documents (default
20,000), so an interrupted import leaves the index close to the database;
``flask search rebuild`` makes them equal.  The writers run in child processes
(``bulk_process``, ``SEARCH_IMPORT_BACKGROUND``, default on: a segment of
``SEARCH_BULK_COMMIT_EVERY`` documents each in turn) while this process reads
input and inserts rows.  ``SEARCH_IMPORT_PROCS=N`` (N > 1) uses Whoosh's
own multiprocess writer instead (N subprocesses, each writing its own segment,
with Whoosh's sorting pool: slower per document).
"""
from __future__ import annotations

import os
from array import array
from collections import Counter
from operator import itemgetter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from whoosh import formats
from whoosh.system import pack_uint

from .analysis import _CACHE as _STEMS
from .analysis import WORD_RE, SupportAnalyzer, normalize


_docnum = itemgetter(0)


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

    def terms_of(self, fieldname: str) -> dict[bytes, list]:
        """The postings of ``fieldname`` by term, for a caller about to add some (``add`` inlined)."""
        terms = self.fields.get(fieldname)
        if terms is None:
            self.fields[fieldname] = terms = {}
            self.fieldnames.add(fieldname)
        return terms

    def iter_postings(self):
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            for tbytes in sorted(terms):
                for docnum, weight, value in self._sorted(terms[tbytes]):
                    yield fieldname, tbytes, docnum, weight, value

    @staticmethod
    def _sorted(group: list) -> list:
        """The group by docnum: merged segments may interleave.  Sorted every time: on a list
        already in order (the usual case) the sort is one linear pass in C, cheaper than checking
        the order in Python first."""
        group.sort(key=_docnum)
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
            for tbytes in sorted(terms):
                fieldwriter.start_term(tbytes)
                _write_postings(fieldwriter._postwriter, self._sorted(terms[tbytes]), lengths)
                fieldwriter.finish_term()
            fieldwriter.finish_field()
        fieldwriter.close()

    def cleanup(self) -> None:
        self.fields, self.lengths = {}, {}


def _write_postings(postwriter, group: list, lengths: dict[int, int]) -> None:
    """A term's postings ``(docnum, weight, value)`` (sorted by docnum) into Whoosh's
    ``W3PostingsWriter`` a block at a time, as its ``add_posting`` would leave them one by one:
    the same blocks, block statistics and term info, without a Python call and four type
    checks per posting (most of the commit of a bulk import).  The last block is left for
    ``finish_postings``, which writes it as the last."""
    skip = 0
    while skip < len(group) and group[skip][0] == -1:  # Whoosh's marker of a spelling word: sorted first
        skip += 1
    postings = group[skip:] if skip else group
    limit = postwriter._blocklimit
    count = len(postings)
    compression = _compression(postwriter)
    for start in range(0, count, limit):
        block = postings[start:start + limit] if count > limit else postings
        # a block of a few postings is written as its pickle: zlib saves it a few bytes at most
        postwriter._compression = compression if len(block) >= SMALL_BLOCK else 0
        ids, weights, values = zip(*block)  # columns in C: a Python step per posting was a third of this
        postwriter._ids = array("I", ids)
        postwriter._weights = array("f", weights)
        postwriter._values = list(filter(None, values))
        known = list(filter(None, map(lengths.get, ids)))  # the documents' lengths, unset (0) left out
        postwriter._minlength = min(known) if known else None
        postwriter._maxlength = max(known) if known else 0
        postwriter._maxweight = max(0, max(weights))
        if start + limit < count:
            postwriter._write_block()


#: Blocks of fewer postings than this are written uncompressed (most of a bulk import's blocks:
#: a term in two or three documents).  Whoosh meant to skip zlib for pickles under 20 bytes but
#: overwrites that choice (``W3PostingsWriter._write_block``); every block says whether it is
#: compressed, so the readers (Whoosh's and ``postings``) take either.
SMALL_BLOCK = 8


def _compression(postwriter) -> int:
    """The writer's zlib level as its codec set it (kept aside: ``_write_postings`` changes it per block)."""
    level = getattr(postwriter, "_codec_compression", None)
    if level is None:
        level = postwriter._codec_compression = postwriter._compression
    return level


def _text_items(field, value) -> list | None:
    """``field.index(value)`` (term bytes, frequency, weight, value bytes) for a text field analysed
    by :class:`SupportAnalyzer` with frequencies or positions, without Whoosh's token stream.

    Whoosh yields one ``Token`` per word through the analyzer and ``formats.tokens`` and counts
    them in ``word_values``; here the words are the same regex matches and stems
    (``analysis.normalize``), stop words left out and positions counting only the words kept, as
    the analyzer numbers them.  ``None`` for any other field: the caller asks Whoosh.
    """
    fmt = field.format
    kind = type(fmt)
    if not isinstance(value, str) or type(field.analyzer) is not SupportAnalyzer \
            or kind not in (formats.Frequency, formats.Positions):
        return None
    words = WORD_RE.findall(value)
    # analysis.normalize's own cache read here, without a Python call per word (most words are cached)
    stems = [stem for stem in [known if known is not None else normalize(word)
                               for word, known in zip(words, map(_STEMS.get, words))] if stem]
    boost = fmt.field_boost
    if kind is formats.Frequency:
        return [(term.encode("utf-8"), count, float(count) * boost, pack_uint(count))
                for term, count in Counter(stems).items()]
    positions: dict[str, list[int]] = {}
    for position, term in enumerate(stems):
        positions.setdefault(term, []).append(position)
    return [(term.encode("utf-8"), len(found), float(len(found)) * boost, fmt.encode(found))
            for term, found in positions.items()]


def _add_document(writer, fields: dict) -> None:
    """``SegmentWriter.add_document`` with :func:`_text_items` for the analysed text fields
    (the rest of it as Whoosh 2.7 writes it: boosts, lengths, spelling, vectors, columns)."""
    writer._check_state()
    perdocwriter, schema, docnum, pool = writer.perdocwriter, writer.schema, writer.docnum, writer.pool
    add_post = pool.add
    docboost = writer._doc_boost(fields)
    fieldnames = sorted(name for name in fields if not name.startswith("_"))
    writer._check_fields(schema, fieldnames)
    perdocwriter.start_doc(docnum)
    for fieldname in fieldnames:
        value = fields.get(fieldname)
        if value is None:
            continue
        field = schema[fieldname]
        length = 0
        if field.indexed:
            fieldboost = writer._field_boost(fields, fieldname, docboost)
            items = _text_items(field, value)
            if items is None:
                items = list(field.index(value))
            if items:
                # TermPool.add inlined: one dict lookup and one append per posting, no call
                terms = pool.terms_of(fieldname)
                for tbytes, freq, weight, vbytes in items:
                    group = terms.get(tbytes)
                    if group is None:
                        terms[tbytes] = group = []
                    group.append((docnum, weight * fieldboost, vbytes))
                if field.scorable:
                    length = sum(item[1] for item in items)
        if field.separate_spelling():
            spellfield = field.spelling_fieldname(fieldname)
            for word in field.spellable_words(value):
                add_post((spellfield, word.encode("utf-8"), 0, 1, None))
        if field.vector:
            vitems = sorted((text, weight, vbytes) for text, _, weight, vbytes
                            in field.vector.word_values(value, field.analyzer, mode="index"))
            perdocwriter.add_vector_items(fieldname, field, vitems)
        customval = fields.get("_stored_%s" % fieldname, value)
        perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
        column = field.column_type
        if column and customval is not None:
            perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
    perdocwriter.finish_doc()
    writer._added = True
    writer.docnum += 1


def fast_writer(writer):
    """``writer`` (a fresh ``SegmentWriter``) using a :class:`TermPool` and :func:`_add_document`."""
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
    writer.add_document = lambda **fields: _add_document(writer, fields)
    return writer


def finish_segment(writer):
    """The segment of a :func:`fast_writer` over ``WhooshIndex.segment_writer``, written to disk
    with its sidecar file (``SegmentWriter.commit`` without the table of contents, which the
    import writes under its lock); ``None`` when no document was added."""
    from whoosh.reading import SegmentReader

    from . import sidecar

    if not writer._added:
        writer._close_segment()
        return None
    segment = writer._finalize_segment()
    folder = getattr(writer.storage, "folder", None)
    if folder:  # written by the process that wrote the segment, not by the one committing it
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            sidecar.write_words(reader, Path(folder))
        finally:
            reader.close()
    return segment


def unindexed(keys: list[str]) -> list[str]:
    """Which of ``keys`` the committed Whoosh index has no document for."""
    searcher = current_app.extensions["search"].index.searcher(priors=False)
    return [key for key in keys if searcher.document_number(key=key) is None]


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

    def unindexed(self, session, keys: list[str]) -> list[str]:
        """Keys without a document (``session`` unused: the index is not in the database)."""
        return unindexed(keys)


@contextmanager
def bulk_writer(timeout: float = 300.0) -> Iterator[BulkIndexer]:
    """Hold the index lock for a bulk job; committed at the end, also after an error,
    so what the database already committed is searchable."""
    config = current_app.config
    state = current_app.extensions["search"]
    if getattr(state, "in_transaction", False):
        from ..extensions import db
        from .postgres_bulk import PostgresBulkIndexer

        indexer = PostgresBulkIndexer(state, db.engine)
        try:
            yield indexer
        finally:
            try:
                indexer.close()
            finally:
                state.refresh_terms()  # the imported words: frequencies and typo corrections
        return
    procs = min(int(config.get("SEARCH_IMPORT_PROCS") or 1), os.cpu_count() or 1)
    options = {"procs": procs, "multisegment": True, "batchsize": 200} if procs > 1 else {}
    commit_every = int(config.get("SEARCH_BULK_COMMIT_EVERY") or 20000)
    if procs > 1:
        def open_writer():
            return state.index.writer(timeout=timeout, limitmb=256, **options)
    else:
        def open_writer():
            return fast_writer(state.index.writer(timeout=timeout))
    if procs == 1 and config.get("SEARCH_IMPORT_BACKGROUND", True):
        from .bulk_process import ProcessIndexer

        indexer = ProcessIndexer(state.index, commit_every, timeout)
        try:
            yield indexer
        finally:
            indexer.close()
        return
    indexer = BulkIndexer(open_writer, commit_every)
    try:
        yield indexer
    finally:
        indexer.writer.commit()
