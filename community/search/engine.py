"""The Whoosh search backend: re-indexing, suggestions, the search page, rebuilds.

``SearchState`` lives in ``app.extensions["search"]``; the functions in
``community.search`` call it.  A PostgreSQL backend (``SEARCH_BACKEND=postgres``)
can implement the same methods: reindex, suggest, search, rebuild, count.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import fcntl
import logging
import threading
import time

from flask import Flask
from sqlalchemy.orm import Session

import numpy as np

from . import documents, postings, presenting, proximity, ranker
from .errors import SearchRebuilding, SearchUnavailable
from . import query as querying
from .postings import SearcherArrays
from .results import SearchResults
from .schema import SORTS, prior
from .whoosh_index import WhooshIndex

log = logging.getLogger(__name__)

#: Candidates taken from the index before trimming to ``limit`` (ties, types).
SUGGEST_CANDIDATES = 20
#: Suggestions remembered per process (keyed by stems and index generation).
SUGGEST_CACHE_SIZE = 1024
#: A background rebuild after a schema upgrade that failed is tried again after this long.
REBUILD_RETRY_SECONDS = 30.0


class SearchState:
    def __init__(self, app: Flask):
        self.app = app
        config = app.config
        self.index = WhooshIndex(config["SEARCH_INDEX_DIR"],
                                 lock_timeout=float(config.get("SEARCH_LOCK_TIMEOUT", 5.0)),
                                 retry_for=float(config.get("SEARCH_RETRY_SECONDS", 600.0)))
        postings.CACHE.resize(float(config.get("SEARCH_POSTINGS_CACHE_MB", 64)) * (1 << 20))
        #: True while a bulk import indexes by itself (listeners then do nothing).
        self.paused = False
        from .queue import IndexQueue

        #: Changes are queued in their transaction and applied after it (search/queue.py).
        self.queue = IndexQueue(app, self.index, self.load)
        self._suggest_cache: dict[tuple, list[dict]] = {}
        self._rebuild_guard = threading.Lock()
        self._rebuild_thread: threading.Thread | None = None
        self._next_rebuild_at = 0.0

    # -- writing --------------------------------------------------------------

    def load(self, keys: list[str]) -> dict[str, dict | None]:
        """Documents from the database, in a session of their own (called under the lock)."""
        from ..extensions import db

        with self.app.app_context(), Session(db.engine) as session:
            return documents.documents_for(session, keys)

    def reindex(self, keys: Iterable[str]) -> bool:
        return self.index.apply(keys, self.load)

    @contextmanager
    def paused_listeners(self) -> Iterator[None]:
        previous, self.paused = self.paused, True
        try:
            yield
        finally:
            self.paused = previous

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Replace the index with every searchable thread, idea and article in the database."""
        from ..extensions import db

        with Session(db.engine) as session:
            def docs():  # read under the writer lock (``WhooshIndex.replace_all``)
                thread_ids = documents.all_thread_ids(session)
                for start in range(0, len(thread_ids), documents.CHUNK):
                    chunk = thread_ids[start:start + documents.CHUNK]
                    for doc in documents.thread_documents(session, chunk).values():
                        if doc is not None:
                            yield doc
                        elif progress:
                            progress(1)
                    session.expunge_all()
                for doc in (*documents.idea_documents(session, documents.all_idea_ids(session)).values(),
                            *documents.article_documents(session, documents.all_article_ids(session)).values()):
                    if doc is not None:
                        yield doc
                    elif progress:
                        progress(1)

            return self.index.replace_all(docs(), progress=progress)

    def rebuilding(self) -> bool:
        """True while the index is an empty stand-in for one of an older schema (after an
        upgrade). A search that finds it so starts the rebuild from the database in a background
        thread (:meth:`_rebuild_in_background`; a worker's warm-up is the first), so a site heals
        without anyone running ``flask search rebuild``; searches meanwhile answer "being rebuilt"."""
        try:
            return self.index.needs_rebuild()
        except Exception:  # noqa: BLE001 - the index did not open: ``reading`` retries and says so
            return False

    def _rebuild_in_background(self) -> None:
        with self._rebuild_guard:
            running = self._rebuild_thread is not None and self._rebuild_thread.is_alive()
            if running or time.monotonic() < self._next_rebuild_at:
                return
            self._next_rebuild_at = time.monotonic() + REBUILD_RETRY_SECONDS
            self._rebuild_thread = threading.Thread(target=self._rebuild_unless_running_elsewhere,
                                                    name="search-rebuild", daemon=True)
            self._rebuild_thread.start()

    def _rebuild_unless_running_elsewhere(self) -> None:
        """One process rebuilds (a lock file beside the index); the others keep answering
        "being rebuilt" until the marker goes. A failure is logged and tried again later."""
        with open(self.index.path / ".rebuild.lock", "w") as guard:
            try:
                fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            try:
                if not self.index.needs_rebuild():
                    return
                started = time.perf_counter()
                with self.app.app_context():
                    written = self.rebuild()
                log.warning("Search index rebuilt from the database after a schema upgrade: %d documents in %.1fs.",
                            written, time.perf_counter() - started)
            except Exception:  # noqa: BLE001 - logged; the next search starts it again
                log.exception("Rebuilding the search index failed; retrying in %.0fs.", REBUILD_RETRY_SECONDS)
            finally:
                fcntl.flock(guard, fcntl.LOCK_UN)

    def total(self) -> int:
        """Documents that the index would hold after a rebuild (for progress bars)."""
        from ..extensions import db

        with Session(db.engine) as session:
            return (len(documents.all_thread_ids(session)) + len(documents.all_idea_ids(session))
                    + len(documents.all_article_ids(session)))

    def count(self) -> int:
        return self.reading(True, lambda searcher: searcher.doc_count())

    def warm(self) -> int:
        """Read now what the first queries of this process would read: both searchers, and
        each segment's field lengths, prior column and typo-correction term sets.

        Called when a gunicorn worker starts (``gunicorn.conf.py``), so that the first
        visitor a worker serves does not pay it (at 100,000 threads the term sets alone
        cost a first query with an unknown word ~100-180 ms, the p99 of a cold suggestion).
        The columns are kept per segment, so later segments (new threads) cost only their own
        small share.  Returns the segments read."""
        from whoosh.reading import SegmentReader

        def read(searcher) -> int:
            segments = 0
            for leaf, _offset in searcher.reader().leaf_readers():
                if not isinstance(leaf, SegmentReader):
                    continue
                columns = postings.segment_columns(leaf)
                for field in querying.TYPO_FIELDS:
                    columns.words(field)
                for field in self.index.index().schema.scorable_names():
                    columns.lengths(field)
                columns.numeric("prior", 1000)
                segments += 1
            return segments

        self.reading(True, lambda searcher: searcher.doc_count())
        return self.reading(False, read)

    # -- reading --------------------------------------------------------------

    def reading(self, priors: bool, work: Callable):
        """``work(searcher)`` with this thread's searcher; on any failure once more with a new one.

        A second failure raises :class:`SearchUnavailable`: a broken index is
        an error for the caller, never an empty result, and no broken
        searcher stays cached. So does an index being rebuilt after an upgrade
        (:meth:`rebuilding`).
        """
        if self.rebuilding():
            self._rebuild_in_background()
            raise SearchRebuilding("Search is being rebuilt after an upgrade; try again in a few minutes.")
        for attempt in (1, 2):
            try:
                return work(self.index.searcher(priors=priors))
            except Exception as exc:  # noqa: BLE001 - any engine failure is "unavailable"
                self.index.discard()
                if attempt == 2:
                    log.exception("Search failed twice; answering 'search unavailable'.")
                    if isinstance(exc, SearchUnavailable):
                        raise
                    raise SearchUnavailable("Search is temporarily unavailable.") from exc
                log.warning("Search failed (%r); retrying with a new searcher.", exc)

    def suggest(self, text: str, *, limit: int = 5, types=documents.SEARCH_TYPES) -> list[dict]:
        types = tuple(t for t in (types or ()) if t in documents.SEARCH_TYPES)
        if limit <= 0 or not types:
            return []
        terms = querying.analyze(text)
        return self.reading(False, lambda searcher: self._cached_suggest(terms, searcher, limit, types))

    def _cached_suggest(self, terms, searcher, limit, types) -> list[dict]:
        # Typing repeats queries; a commit (any process) changes the generation and so the key.
        key = (tuple(terms), limit, types, searcher.reader().generation())
        cached = self._suggest_cache.get(key)
        if cached is not None:
            return [dict(item) for item in cached]
        out = self._suggest(terms, searcher, limit, types)
        if len(self._suggest_cache) >= SUGGEST_CACHE_SIZE:
            self._suggest_cache.clear()
        self._suggest_cache[key] = out
        return [dict(item) for item in out]

    def _suggest(self, terms, searcher, limit, types) -> list[dict]:
        scored = _scored(terms, searcher)
        if scored is None:
            return []
        hits = scored.top(max(limit, SUGGEST_CANDIDATES), allow=_type_mask(_arrays(searcher), types),
                          coverage=True)
        # Rerank the few candidates with the priors (solved, votes) kept in the document and
        # the query words' proximity in its title and question.
        stems = scored.stems
        ranked = sorted(((score * prior(bool(f.get("solved")), f.get("votes", 0)) * proximity.multiplier(
                              proximity.text_positions(f.get("title"), f.get("question_text"), stems), stems), f)
                         for docnum, score in hits for f in (searcher.stored_fields(docnum),)),
                        key=lambda pair: -pair[0])
        return [presenting.suggestion(f, score, terms) for score, f in presenting.order_suggestions(ranked, limit)]

    def search(self, text: str, *, category_id=None, solved=None, type=None, since: datetime | None = None,
               until: datetime | None = None, page: int = 1, per_page: int = 20,
               sort: str = "relevance") -> SearchResults:
        page = max(1, int(page or 1))
        per_page = min(max(1, int(per_page or 20)), 100)
        terms = querying.analyze(text)
        return self.reading(True, lambda searcher: self._search(
            text, terms, searcher, category_id=category_id, solved=solved, type=type, since=since,
            until=until, page=page, per_page=per_page, sort=sort))

    def _search(self, text, terms, searcher, *, category_id, solved, type, since, until, page,
                per_page, sort="relevance") -> SearchResults:
        result = SearchResults(query=text or "", page=page, per_page=per_page)
        scored = _scored(terms, searcher)
        if scored is None:
            return result
        arrays = _arrays(searcher)
        allow = _filter_mask(arrays, category_id=category_id, solved=solved, type=type, since=since, until=until)
        result.total = len(scored.candidates(allow))
        if (page - 1) * per_page >= result.total:
            return result
        column = SORTS.get(sort)
        if column is None:
            hits = scored.top(page * per_page, allow=allow, multiplier=_priors(arrays), coverage=True)
        else:
            hits = scored.ordered(page * per_page, arrays.numeric(column, 0), allow=allow,
                                  multiplier=_priors(arrays))
        hits = hits[(page - 1) * per_page:]
        result.results = [presenting.page_hit(searcher.stored_fields(docnum), score, terms)
                          for docnum, score in hits]
        return result


def _arrays(searcher) -> SearcherArrays:
    """The searcher's postings as arrays (kept on the searcher: one per index generation)."""
    found = getattr(searcher, "_community_arrays", None)
    if found is None:
        found = searcher._community_arrays = SearcherArrays(searcher)
    return found


def _scored(terms: list[str], searcher) -> ranker.Scored | None:
    """Every document's score for the analyzed ``terms`` (pruned, common stems apart)."""
    terms = querying.prune(terms, searcher)
    _rare, common = querying.split_common(terms, searcher)
    query_plan = ranker.plan(terms, common)
    return None if query_plan is None else ranker.Scored(query_plan, _arrays(searcher))


def _type_mask(arrays: SearcherArrays, types) -> np.ndarray | None:
    types = [t for t in (types or ()) if t in documents.SEARCH_TYPES]
    if not types or set(types) == set(documents.SEARCH_TYPES):
        return None
    mask = np.zeros(arrays.doccount, dtype=bool)
    for name in types:
        mask[arrays.docs_of("type", name)] = True
    return mask


def _filter_mask(arrays: SearcherArrays, *, category_id, solved, type, since, until) -> np.ndarray | None:
    """The documents the search page's filters allow (``None``: no filter)."""
    mask = None

    def narrow(docnums):
        nonlocal mask
        found = np.zeros(arrays.doccount, dtype=bool)
        found[docnums] = True
        mask = found if mask is None else mask & found

    if category_id not in (None, ""):
        narrow(arrays.docs_of("category_id", str(category_id)))
    if solved is not None:
        narrow(arrays.docs_of("solved", bool(solved)))
    if type in documents.SEARCH_TYPES:
        narrow(arrays.docs_of("type", type))
    if since or until:
        narrow(_created_within(arrays, since, until))
    return mask


def _created_within(arrays: SearcherArrays, since: datetime | None, until: datetime | None) -> np.ndarray:
    """Docnums created in ``[since, until]`` (naive UTC), from the whole seconds of the
    ``created_order`` column (0: no time, never matched).  A document in the very second of a
    bound that has a fraction of a second (the search page's bounds have none, or end at
    .999999) is decided by its stored ``created``."""
    seconds = arrays.numeric("created_order", 0)
    keep = seconds > 0
    edges = []
    if since:
        first = documents.epoch_seconds(since)
        keep &= seconds > first if since.microsecond else seconds >= first
        if since.microsecond:
            edges.append(first)
    if until:
        last = documents.epoch_seconds(until)
        keep &= seconds <= last if until.microsecond == 999999 else seconds < last
        if until.microsecond != 999999:
            edges.append(last)
    found = np.flatnonzero(keep)
    edge_docs = np.flatnonzero(np.isin(seconds, edges)) if edges else ()
    exact = [docnum for docnum in edge_docs if arrays.live()[docnum]
             and _between(arrays.searcher.stored_fields(docnum).get("created"), since, until)]
    return np.union1d(found, np.asarray(exact, dtype=np.int64)) if exact else found


def _between(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    return moment is not None and (since is None or moment >= since) and (until is None or moment <= until)


def _priors(arrays: SearcherArrays) -> np.ndarray:
    """Each document's prior (solved, votes) from its column, as ``PriorBM25F`` applies it."""
    column = arrays.numeric("prior", 1000)
    return np.where(column == 0, 1000.0, column) / 1000.0
