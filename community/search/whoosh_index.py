"""The Whoosh index on disk: opening, one writer at a time across processes, fresh searchers.

Whoosh allows one writer per index, guarded by a file lock, so several
gunicorn workers committing at once take turns.  The rule that keeps the
index right is: *take the lock first, then read the database*.  Whoever
writes last has read the latest committed state, so no update is lost or
overwritten by an older one.  A writer that cannot get the lock within
``SEARCH_LOCK_TIMEOUT`` seconds hands its keys to a background thread that
keeps trying; errors are logged, never shown to users, and
``flask search rebuild`` repairs any drift from the database.
"""
from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import scoring
from whoosh.index import LockError
from whoosh.reading import ReaderClosed
from whoosh.writing import CLEAR

from . import ranker, sidecar
from .errors import SearchUnavailable
from .schema import SCHEMA_VERSION, build_schema

log = logging.getLogger(__name__)

INDEX_NAME = "community"
VERSION_FILE = "community-schema-version"
#: Written when an index of an older schema is replaced by an empty one, removed by the next
#: full rebuild (:meth:`WhooshIndex.replace_all`): while it exists the index is known to be
#: incomplete, so searches answer "being rebuilt" (``SearchState.rebuilding``), never empty results.
REBUILD_MARKER = "community-needs-rebuild"

Loader = Callable[[list[str]], dict[str, "dict | None"]]


class PriorBM25F(scoring.BM25F):
    """BM25F times each document's stored prior (solved, votes), read from a column."""

    use_final = True

    def final(self, searcher, docnum, score):
        column = getattr(searcher, "_community_prior", None)
        if column is None:
            column = searcher.reader().column_reader("prior")
            searcher._community_prior = column
        return score * ((column[docnum] or 1000) / 1000.0)


def weighting(priors: bool) -> scoring.BM25F:
    """Whoosh's scorer with the ranker's ``K1`` and ``B``, so that anything Whoosh itself
    scores (``searcher.search``, the tests' reference) ranks as :mod:`ranker` does."""
    return (PriorBM25F if priors else scoring.BM25F)(K1=ranker.K1, B=ranker.B)


def _retried(open_once, errors: tuple[type[BaseException], ...], attempts: int = 6):
    """``open_once()``, tried again a little later while it raises one of ``errors`` (files that
    another process's commit removed while they were being opened); ``SearchUnavailable`` after
    ``attempts``."""
    error: BaseException | None = None
    for attempt in range(attempts):
        try:
            return open_once()
        except errors as exc:
            error = exc
            time.sleep(0.01 * (attempt + 1))
    raise SearchUnavailable("The search index could not be opened.") from error


class WhooshIndex:
    """One index directory; safe to share between threads of a process."""

    def __init__(self, path: str, *, lock_timeout: float = 5.0, retry_for: float = 600.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.retry_for = retry_for
        self._ix = None
        self._open_lock = threading.Lock()
        self._local = threading.local()
        #: Set once this process has seen no :data:`REBUILD_MARKER` after opening (then never checked again).
        self._complete = False

    # -- opening --------------------------------------------------------------

    def index(self):
        if self._ix is None:
            with self._open_lock:
                if self._ix is None:
                    self._ix = self._open_or_create()
        return self._ix

    def _open_or_create(self):
        # Whoosh lists the newest table of contents, then opens it: a commit by another
        # process (a worker's search queue) in between has removed that generation.
        return _retried(self._open_or_create_once, (FileNotFoundError,))

    def _open_or_create_once(self):
        self.path.mkdir(parents=True, exist_ok=True)
        # Two workers starting at once must not both create (and wipe) the index.
        with open(self.path / ".create.lock", "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            try:
                version_file = self.path / VERSION_FILE
                current = version_file.read_text().strip() if version_file.exists() else None
                if whoosh_index.exists_in(self.path, indexname=INDEX_NAME) and current == str(SCHEMA_VERSION):
                    return whoosh_index.open_dir(self.path, indexname=INDEX_NAME)
                if current is not None:  # an upgrade changed the schema: the documents must be written again
                    (self.path / REBUILD_MARKER).write_text(f"schema {current} -> {SCHEMA_VERSION}\n")
                    log.warning("Search index schema %s != %s: created empty, to be rebuilt from the database"
                                " (in the background, or by `flask search rebuild`).", current, SCHEMA_VERSION)
                ix = whoosh_index.create_in(self.path, build_schema(), indexname=INDEX_NAME)
                version_file.write_text(str(SCHEMA_VERSION))
                return ix
            finally:
                fcntl.flock(guard, fcntl.LOCK_UN)

    def searcher(self, priors: bool = True):
        """This thread's searcher, replaced by a new one when any process committed.

        ``priors=True`` scores with :class:`PriorBM25F` (every match pays a
        column read: fine for the search page); ``False`` is plain BM25F, which
        lets Whoosh skip blocks that cannot reach the top N (suggest reranks
        its few candidates itself).

        Whoosh's own ``Searcher.refresh()`` is not used: it closes the old
        readers before the new ones are open, and when a concurrent merge
        deletes a segment file mid-open its retry closes them again and raises
        ``ReaderClosed``, leaving a dead searcher cached (issue 22).  Here a
        new searcher is opened first; the old one is closed only after.
        """
        name = self._slot(priors)
        current = getattr(self._local, name, None)
        if current is not None and self._is_current(current):
            return current
        setattr(self._local, name, None)
        fresh = self._open_searcher(priors)
        setattr(self._local, name, fresh)
        if current is not None:
            _close_quietly(current)
        return fresh

    @staticmethod
    def _slot(priors: bool) -> str:
        return "prior_searcher" if priors else "plain_searcher"

    def _is_current(self, searcher) -> bool:
        if searcher.is_closed:
            return False
        try:
            return searcher.reader().generation() == self.index().latest_generation()
        except (OSError, ReaderClosed):
            return False

    def _open_searcher(self, priors: bool):
        # A concurrent commit removed files while we opened them: retry.
        return _retried(lambda: self.index().searcher(weighting=weighting(priors)),
                        (OSError, ReaderClosed, EOFError))

    def discard(self) -> None:
        """Forget this thread's searchers (after a failure: the next call opens new ones)."""
        for priors in (True, False):
            current = getattr(self._local, self._slot(priors), None)
            setattr(self._local, self._slot(priors), None)
            if current is not None:
                _close_quietly(current)

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    # -- writing --------------------------------------------------------------

    def writer(self, timeout: float | None = None, **kwargs):
        """A writer holding the index lock; raises ``LockError`` after ``timeout`` seconds.

        Segments are written as separate files, never one compound file: Whoosh opens a
        compound segment's postings, terms and columns by copying each into memory
        (``BufferFile`` wraps a ``BytesIO`` of the mapped bytes), for every searcher,
        so each commit cost every worker a copy of the whole index (620 MB of private
        memory per process at 100,000 threads).  Separate files are read in place.

        Every commit is followed by :func:`sidecar.write_missing`: the files derived from
        each new segment (merges and the bulk import's commits included) are written once,
        beside it, instead of once per process that reads it.
        """
        kwargs.setdefault("compound", False)
        ix = self.index()
        writer = ix.writer(timeout=self.lock_timeout if timeout is None else timeout, delay=0.02, **kwargs)
        commit = writer.commit

        def commit_then_sidecars(*args, **options):
            commit(*args, **options)
            sidecar.write_missing(ix)

        writer.commit = commit_then_sidecars
        return writer

    # -- a bulk import's segments, written by several processes -----------------

    def import_lock(self, timeout: float):
        """The index lock for a bulk import whose segments several processes write
        (``bulk_process``): one process of the import holds it and writes each
        :meth:`add_segments`, then releases it."""
        from whoosh.util.filelock import try_for

        lock = self.index().lock("WRITELOCK")
        if not try_for(lock.acquire, timeout=timeout, delay=0.02):
            raise LockError
        return lock

    def segment_writer(self):
        """A writer of one new segment that takes no lock (the import's lock is held by another
        process of the import): its segment joins the index by :meth:`add_segments`, not by
        ``commit``.  Separate files, never a compound file, as :meth:`writer`."""
        return self.index().writer(_lk=False, compound=False)

    def add_segments(self, segments: list, *, clean: bool) -> None:
        """Commit ``segments`` (from :meth:`segment_writer`, in document order) after the index's
        current ones: a new table of contents, as ``SegmentWriter.commit`` writes it without merging.
        Only the holder of :meth:`import_lock` calls it.  ``clean`` also removes the files of no
        segment in it (``whoosh.index.clean_files``); while another process is still writing a
        segment its files are such files, so ``clean`` only at the import's end."""
        from whoosh.index import TOC, clean_files

        ix = self.index()
        toc = ix._read_toc()
        current = toc.segments + list(segments)
        generation = toc.generation + 1
        TOC(toc.schema, current, generation).write(ix.storage, ix.indexname)
        if clean:
            clean_files(ix.storage, ix.indexname, generation, current)
        sidecar.write_missing(ix)

    def apply(self, keys: Iterable[str], loader: Loader, *, background: Callable | None = None) -> bool:
        """Re-index ``keys`` (documents from ``loader``, read after taking the lock).

        Returns True when written now; False when handed to a background retry.
        """
        keys = sorted(set(keys))
        if not keys:
            return True
        try:
            writer = self.writer()
        except LockError:
            log.info("Search index busy; re-indexing %d documents in the background.", len(keys))
            (background or self._retry_in_background)(keys, loader)
            return False
        self.write_documents(writer, keys, loader)
        return True

    @staticmethod
    def write_documents(writer, keys: list[str], loader: Loader) -> None:
        """Each key's document from ``loader`` written (or deleted when it has none), then one
        commit; on any failure the writer is cancelled and the index keeps its last commit."""
        try:
            docs = loader(keys)
            for key in keys:
                doc = docs.get(key)
                if doc is None:
                    writer.delete_by_term("key", key)
                else:
                    writer.update_document(**doc)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def _retry_in_background(self, keys: list[str], loader: Loader) -> None:
        def run():
            deadline = time.monotonic() + self.retry_for
            while time.monotonic() < deadline:
                try:
                    writer = self.writer(timeout=5.0)
                except LockError:
                    continue
                try:
                    self.write_documents(writer, keys, loader)
                except Exception:
                    log.exception("Search indexing failed for %s", keys[:20])
                return
            log.error("Search index locked for %.0fs; %d documents not re-indexed (run rebuild).",
                      self.retry_for, len(keys))

        thread = threading.Thread(target=run, name="search-index-retry", daemon=True)
        thread.start()

    def replace_all(self, documents: Iterable[dict], *, timeout: float = 120.0,
                    progress: Callable[[int], None] | None = None) -> int:
        """Write ``documents`` as the whole index (old segments dropped at commit).

        ``documents`` is read only once the writer lock is held: a generator that reads the
        database then sees every change the queue applied before the lock (which the commit's
        ``CLEAR`` drops), and changes after it wait in the queue for this commit."""
        writer = self.writer(timeout=timeout, limitmb=256)
        count = 0
        try:
            for doc in documents:
                writer.add_document(**doc)
                count += 1
                if progress:
                    progress(1)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        (self.path / REBUILD_MARKER).unlink(missing_ok=True)
        return count

    def needs_rebuild(self) -> bool:
        """True while this index is an empty stand-in for one of an older schema (opening it is
        what finds that out); a stat per call until the marker is gone, then nothing."""
        if self._complete:
            return False
        self.index()
        if (self.path / REBUILD_MARKER).exists():
            return True
        self._complete = True
        return False

    def close(self) -> None:
        self.discard()
        self._complete = False
        if self._ix is not None:
            self._ix.close()
            self._ix = None


def _close_quietly(searcher) -> None:
    """Close a searcher that may already be (partly) closed."""
    try:
        searcher.close()
    except Exception:  # noqa: BLE001 - closing a broken reader must not break the new one
        log.debug("closing an old searcher failed", exc_info=True)
