"""Whoosh posting lists and per-document columns as numpy arrays, read a block at a time.

Whoosh's matchers walk postings one by one in Python (``is_active``, ``id``,
``skip_to`` and ``score`` per posting and per node of the query tree): at 20,000
threads that loop was ~90% of a cold suggestion (docs/search.md, profile).  The
index stays Whoosh's (same files, writer, segments and locking); this module
only reads it faster: each posting block (128 postings, one pickle) becomes two
arrays, and :mod:`community.search.ranker` scores whole lists with numpy.

What is kept per process: a segment's field lengths and prior column, and the
long posting lists of common stems, decoded (:class:`PostingCache`, bounded by
``SEARCH_POSTINGS_CACHE_MB``).  A segment's files never change once written, so
both are keyed by segment id and stay true across commits until the segment is
merged away; deletions are read per searcher.  Nothing of a query's answer is
kept here: every query scores its lists afresh.
"""
from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from itertools import chain

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.util.numeric import _length_byte_cache

from . import sidecar

#: Whoosh's one-byte field length -> the length it stands for (as ``doc_field_length``).
BYTE_TO_LENGTH = np.array(_length_byte_cache, dtype=np.float64)
#: Segments whose columns are kept per process (old ones fall out after merges).
SEGMENT_CACHE_SIZE = 64
#: Lists of at least this many postings are decoded whole once and kept (the common
#: stems' lists, read again by most queries); shorter ones are cheap to read each time.
CACHE_MIN_POSTINGS = 1024
#: Term infos kept per segment (:meth:`SegmentColumns.term_info`), least recently used out.
TERM_INFO_CACHE_SIZE = 20_000
_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float64)


class SegmentColumns:
    """The immutable per-document data of one segment: field lengths, the prior column."""

    def __init__(self, reader):
        self.doccount = reader.doc_count_all()
        self._reader = reader
        self._lengths: dict[str, np.ndarray] = {}
        self._words: dict[str, frozenset[str]] = {}
        self._terms: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._lock = threading.Lock()

    def term_info(self, reader, field: str, text: str):
        """Whoosh's ``TermInfo`` of a term in this segment, or ``None`` where it has none.

        A query asked the term index the same (field, stem) up to five times (pruning,
        the common-terms split, the IDF, the coverage, the postings): at 100,000 threads
        a fifth of a cold suggestion.  A segment never changes, so its answers are kept
        (``TERM_INFO_CACHE_SIZE`` a segment, least recently used out).  ``reader``: the
        caller's reader of this segment, which looks a term up (its files are the calling
        thread's searcher's; the first reader kept here may be another thread's, or closed)."""
        key = (field, text)
        with self._lock:
            found = self._terms.get(key, _MISSING)
            if found is not _MISSING:
                self._terms.move_to_end(key)
                return found
        try:
            found = reader._terms.term_info(field, reader.schema[field].to_bytes(text))
        except (KeyError, ValueError, TermNotFound):
            found = None
        with self._lock:
            self._terms[key] = found
            if len(self._terms) > TERM_INFO_CACHE_SIZE:
                self._terms.popitem(last=False)
        return found

    def words(self, field: str) -> frozenset[str]:
        """Every term of ``field`` in this segment (typo correction looks candidates up here).

        Read once per process and segment, from the segment's term-set file
        (:mod:`sidecar`: ~4 ms for the title and question of 20,000 threads) or, where it
        has none (yet), from the term index (~3 µs a term: ~35 ms), instead of Whoosh
        building a Levenshtein automaton and seeking through the terms for every unknown word.
        """
        cached = self._words.get(field)
        if cached is None:
            with self._lock:
                kept = sidecar.read_words(self._reader)  # the file beside the segment
                if kept is not None and field in kept:
                    self._words.update(kept)
                    cached = kept[field]
                else:
                    cached = self._words[field] = sidecar.segment_words(self._reader, field)
        return cached

    def lengths(self, field: str) -> np.ndarray:
        """Every document's length of ``field`` (0 where it has none), as Whoosh scores it."""
        cached = self._lengths.get(field)
        if cached is None:
            with self._lock:
                column = self._reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
                codes = _fixed_column(column, self.doccount, np.uint8)
                cached = self._lengths[field] = BYTE_TO_LENGTH[codes]
        return cached

    def numeric(self, field: str, default: int) -> np.ndarray:
        """A ``NumericColumn`` column ("I" unsigned or "i" signed 32-bit: the prior, the sort keys)
        as an array, ``default`` where unset."""
        key = "#" + field
        cached = self._lengths.get(key)
        if cached is None:
            with self._lock:
                perdoc = self._reader._perdoc
                column = (perdoc.column_reader(field, self._reader.schema[field].column_type)
                          if perdoc.has_column(field) else None)
                typecode = getattr(self._reader.schema[field].column_type, "_typecode", "I")
                raw = _fixed_column(column, self.doccount, np.dtype(">i4" if typecode == "i" else ">u4"),
                                    default=default)
                cached = self._lengths[key] = raw.astype(np.float64)
        return cached


def _fixed_column(column, doccount: int, dtype, default: int = 0) -> np.ndarray:
    """The values of a fixed-width Whoosh column reader, padded with ``default``."""
    out = np.full(doccount, default, dtype=dtype)
    if column is None:
        return out
    count = min(column._count, doccount)
    if count:
        raw = column._dbfile.get(column._basepos, count * column._fixedlen)
        out[:count] = np.frombuffer(raw, dtype=dtype, count=count)
    return out


_MISSING = object()


def doc_frequency(reader, field: str, text: str) -> int:
    """``reader.doc_frequency(field, text)`` (a searcher's reader: one segment or several),
    from the segments' kept term infos."""
    total = 0
    for leaf, _offset in reader.leaf_readers():
        if isinstance(leaf, SegmentReader):
            info = segment_columns(leaf).term_info(leaf, field, text)
            if info is not None:
                total += info.doc_frequency()
    return total


class PostingCache:
    """Decoded long posting lists by ``(segment id, field, term)``, least recently used out first.

    Whoosh stores a block of postings as a pickle of Python ints and floats: decoding
    costs ~0.25 µs a posting, so a stem in 30% of 100,000 threads costs ~8 ms per field
    each time.  Kept here, a list costs 8 bytes a posting (int32 docnum, float32 weight:
    term frequencies are small whole numbers, exact in float32).
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def resize(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = max(0, int(max_bytes))
            self._evict()

    def get(self, key: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
        return None if found is None else (found[0], found[1].astype(np.float64))

    def put(self, key: tuple, ids: np.ndarray, weights: np.ndarray) -> None:
        item = (ids.astype(np.int32), weights.astype(np.float32))
        cost = item[0].nbytes + item[1].nbytes
        with self._lock:
            if cost > self.max_bytes // 4 or key in self._items:
                return
            self._items[key] = item
            self.size += cost
            self._evict()

    def _evict(self) -> None:
        while self.size > self.max_bytes and self._items:
            _key, (ids, weights) = self._items.popitem(last=False)
            self.size -= ids.nbytes + weights.nbytes


#: This process's cache (sized by ``SEARCH_POSTINGS_CACHE_MB`` when the app starts).
CACHE = PostingCache(64 << 20)

_segments: OrderedDict[str, SegmentColumns] = OrderedDict()
_segments_lock = threading.Lock()


def segment_columns(reader) -> SegmentColumns:
    """This process's :class:`SegmentColumns` of a segment reader (by segment id)."""
    key = reader._segment.segment_id()  # random per segment: unique across index directories
    with _segments_lock:
        found = _segments.get(key)
        if found is not None and found._reader.is_closed:
            with found._lock:  # the segment reopened by a newer searcher: what was read stays true
                found._reader = reader
        if found is None:
            found = _segments[key] = SegmentColumns(reader)
            while len(_segments) > SEGMENT_CACHE_SIZE:
                _segments.popitem(last=False)
        _segments.move_to_end(key)
        return found


def segment_postings(reader, field: str, text: str, *, values: bool = False, within: list[int] | None = None):
    """``(ids, weights[, values])`` of a term in one segment, deleted documents included.

    ``ids`` are the segment's docnums (ascending, int64), ``weights`` the term
    frequencies Whoosh scores with, ``values`` (a list, only when asked) the encoded
    postings (positions for a phrase field).  With ``within`` (sorted docnums), blocks
    holding none of them are not decoded (their postings may be left out; the others
    are all there): a common stem only adds to the few documents rarer ones found.
    """
    empty = (_EMPTY_IDS, _EMPTY_WEIGHTS, []) if values else (_EMPTY_IDS, _EMPTY_WEIGHTS)
    schema_field = reader.schema[field]
    terminfo = segment_columns(reader).term_info(reader, field, text)
    if terminfo is None:
        return empty
    tbytes = schema_field.to_bytes(text)
    if terminfo.is_inlined():
        ids, weights, vals = terminfo.inlined_postings()
        out = (np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64))
        return (*out, list(vals)) if values else out
    offset, length = terminfo.extent()

    def matcher() -> W3LeafMatcher:
        # Only for lists that are read: its first block's header is read from the file here.
        return W3LeafMatcher(reader._terms._postfile, offset, length, schema_field.format, term=(field, tbytes))

    if not values and CACHE.max_bytes and terminfo.doc_frequency() >= CACHE_MIN_POSTINGS:
        key = (reader._segment.segment_id(), field, text)
        found = CACHE.get(key)
        if found is None:
            found = _read_blocks(matcher(), False, None) or empty
            CACHE.put(key, *found)
        return found
    if within is not None and not within:
        return empty
    return _read_blocks(matcher(), values, within) or empty


def _read_blocks(matcher: W3LeafMatcher, values: bool, within: list[int] | None):
    """The blocks of a leaf matcher as arrays (one unpickle and one cumsum per block);
    with ``within``, only the blocks whose docnum range holds one of them."""
    id_parts, weight_parts, value_parts = [], [], []
    last_max = -1
    while matcher.is_active():
        block_max = matcher._maxid
        if within is not None:
            nxt = bisect_right(within, last_max)
            last_max = block_max
            if nxt == len(within):
                break  # no wanted document after this point
            if within[nxt] > block_max:
                matcher._next_block()
                continue
        matcher._read_data()
        ids, weights, vals = matcher._data[0], matcher._data[1], matcher._data[2]
        count = matcher._blocklength
        id_parts.append(ids)
        if weights is None or isinstance(weights, float):
            weight_parts.append(np.full(count, 1.0 if weights is None else weights))
        else:
            weight_parts.append(weights)
        if values:
            value_parts.extend(vals if vals is not None else (None,) * count)
        matcher._next_block()
    if not id_parts:
        return None
    ids = _decode_ids(id_parts, matcher._byteids)
    weights = np.concatenate([np.asarray(w, dtype=np.float64) for w in weight_parts])
    return (ids, weights, value_parts) if values else (ids, weights)


def _decode_ids(parts, byteids: bool) -> np.ndarray:
    """Docnums from the blocks' delta-encoded ids (each block restarts from 0)."""
    lengths = [len(p) for p in parts]
    flat = np.fromiter(chain.from_iterable(parts), dtype=np.int64, count=sum(lengths))
    if byteids:
        return flat
    # One cumsum over everything, minus each block's running total before it.
    total = np.cumsum(flat)
    starts = np.cumsum(lengths[:-1])
    if len(starts):
        block_base = np.repeat(np.concatenate(([0], total[starts - 1])), lengths)
        total -= block_base
    return total


class SearcherArrays:
    """One searcher's segments as one docnum space: postings, lengths, deletions, columns."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.doccount = searcher.doc_count_all()
        self.segments = []  # (reader, offset, columns, deleted docnums or None)
        for reader, offset in searcher.reader().leaf_readers():
            if not isinstance(reader, SegmentReader):
                continue  # an empty index (EmptyReader): no postings
            deleted = None
            if reader.has_deletions():
                deleted = np.fromiter(reader._perdoc.deleted_docs(), dtype=np.int64)
                deleted.sort()
            self.segments.append((reader, offset, segment_columns(reader), deleted))
        self._lengths: dict[str, np.ndarray] = {}
        self._live: np.ndarray | None = None

    def postings(self, field: str, text: str, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(docnums, weights)`` of a term over all segments, deleted documents left out;
        with ``within`` (a mask), only the postings of those documents."""
        ids_parts, weight_parts = [], []
        for reader, offset, _columns, deleted in self.segments:
            wanted = None
            if within is not None:
                local = within[offset:offset + reader.doc_count_all()]
                wanted = np.flatnonzero(local).tolist()
            ids, weights = segment_postings(reader, field, text, within=wanted)
            if not len(ids):
                continue
            if within is not None:
                keep = local[ids]
                ids, weights = ids[keep], weights[keep]
            elif deleted is not None:
                keep = ~np.isin(ids, deleted, assume_unique=True)
                ids, weights = ids[keep], weights[keep]
            ids_parts.append(ids + offset if offset else ids)
            weight_parts.append(weights)
        if not ids_parts:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        if len(ids_parts) == 1:
            return ids_parts[0], weight_parts[0]
        return np.concatenate(ids_parts), np.concatenate(weight_parts)

    def positions(self, field: str, text: str, docnums: np.ndarray) -> dict[int, list[int]]:
        """``{docnum: positions}`` of a term in a phrase field, for the (sorted) ``docnums`` only."""
        out = {}
        for reader, offset, _columns, _deleted in self.segments:
            wanted = docnums[(docnums >= offset) & (docnums < offset + reader.doc_count_all())] - offset
            if not len(wanted):
                continue
            ids, _weights, values = segment_postings(reader, field, text, values=True, within=wanted.tolist())
            if not len(ids):
                continue
            at = np.searchsorted(ids, wanted)
            found = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] == wanted)
            decode = reader.schema[field].format.decode_positions
            for docnum, index in zip(wanted[found].tolist(), at[found].tolist()):
                out[docnum + offset] = decode(values[index])
        return out

    def lengths(self, field: str) -> np.ndarray:
        found = self._lengths.get(field)
        if found is None:
            parts = [columns.lengths(field) for _r, _o, columns, _d in self.segments]
            found = self._lengths[field] = np.concatenate(parts) if len(parts) != 1 else parts[0]
        return found

    def numeric(self, field: str, default: int) -> np.ndarray:
        key = "#" + field
        found = self._lengths.get(key)
        if found is None:
            parts = [columns.numeric(field, default) for _r, _o, columns, _d in self.segments]
            found = self._lengths[key] = np.concatenate(parts) if len(parts) != 1 else parts[0]
        return found

    def live(self) -> np.ndarray:
        """A mask of the documents not deleted."""
        if self._live is None:
            live = np.ones(self.doccount, dtype=bool)
            for _reader, offset, _columns, deleted in self.segments:
                if deleted is not None and len(deleted):
                    live[deleted + offset] = False
            self._live = live
        return self._live

    def docs_of(self, field: str, text: str) -> np.ndarray:
        """Docnums holding a term (an ID/keyword filter such as ``type:thread``)."""
        return self.postings(field, text)[0]
