"""Search: the only package that knows Whoosh (and PostgreSQL full-text search).

``SEARCH_BACKEND`` chooses the engine: ``whoosh`` (default: a local index
directory, ``engine.py``) or ``postgres`` (``postgres.py``: documents in the
database, for several app servers on one database).  Both implement the
interface below, with the same documents (``documents.py``) and snippets.

Public interface (other areas use only these):

- ``init_app(app)``: open or create the index in ``SEARCH_INDEX_DIR`` and
  install the listeners that re-index what each commit changed.
- ``suggest(query, *, limit=5, types=("thread", "article", "idea")) -> list[dict]``:
  the best matches for text being typed, each
  ``{"type", "id", "title", "url", "solved", "snippet", "score"}``; the
  snippet is plain text (the accepted answer of a solved thread, else the
  question), to be escaped by the caller's template or JSON.
- ``search(query, *, category_id=None, solved=None, type=None, since=None,
  until=None, page=1, per_page=20) -> SearchResults`` for the search page,
  with highlighted snippets as safe HTML.
- ``related(thread_id, title, tags=(), *, limit=5) -> list[dict]``: other threads like
  this one, from the same engine as ``suggest`` (and its per-process cache keyed by the
  index generation, so a write anywhere refreshes it).
- ``rebuild(progress=None) -> int``: rebuild from the database.
- ``rebuilding() -> bool``: the index is being rebuilt after an upgrade changed its schema
  (Whoosh; started by the first process that sees it, in the background); meanwhile searches
  raise :class:`SearchUnavailable` saying so.
- ``touch(*keys)``: re-index after SQL that bypassed the ORM (``"thread:3"``).
- ``changed(*keys)``: the same for SQL run inside a transaction still open: the keys are
  indexed with what the ORM changed when it commits, and dropped if it rolls back.
- ``drift()``: documents missing from the index, extra in it, or stale (``flask check``).
- ``pending()`` and ``apply_pending()``: the indexing queue (``queue.py``): a change is
  indexed after its commit, off the request, by each process's applier (PostgreSQL: the
  updates of existing documents; new ones and visibility changes are written in the commit).
- ``paused()`` and ``bulk_writer()``: for bulk imports that index by themselves.
- ``warm()``: read ahead what a process's first queries would (a gunicorn worker as it starts).

Any text is accepted as a query: unparseable input gives no results, never an error.
When the engine itself fails (index files gone, reader closed), ``suggest``,
``search`` and ``count`` raise :class:`SearchUnavailable`, never an empty result.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import datetime

from flask import Flask, current_app

from .errors import SearchRebuilding, SearchUnavailable
from .results import Hit, SearchResults

__all__ = ["Hit", "SearchResults", "SearchRebuilding", "SearchUnavailable", "apply_pending", "bulk_writer", "count", "drift", "init_app",
           "paused", "pending", "rebuild", "rebuilding",
           "changed", "explain", "related", "search", "suggest", "touch", "warm"]


BACKENDS = ("whoosh", "postgres")


def init_app(app: Flask) -> None:
    from . import listeners

    backend = app.config.get("SEARCH_BACKEND") or "whoosh"
    if backend not in BACKENDS:
        raise RuntimeError(f"SEARCH_BACKEND={backend!r} is not available (one of {', '.join(BACKENDS)}).")
    if backend == "postgres":
        from .postgres import PostgresSearch

        if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
            raise RuntimeError("SEARCH_BACKEND='postgres' needs a PostgreSQL DATABASE_URL.")
        state = PostgresSearch(app)
        from .queue import TableQueue

        # Updates of existing documents after the commit (queue.py, listeners.py).
        state.queue = TableQueue(app, state)
        app.extensions["search"] = state
        _start_with_requests(app, state.queue)
    else:
        from .engine import SearchState

        app.config.setdefault("SEARCH_LOCK_TIMEOUT", 5.0)
        state = SearchState(app)
        app.extensions["search"] = state
        state.index.index()  # create the directory and an empty index on first run
        _start_with_requests(app, state.queue)
    listeners.install()


def _start_with_requests(app, queue) -> None:
    if not queue.sync:
        # Every serving process runs an applier, so rows a dead worker left are applied.
        app.before_request(queue.ensure_running)
        # ... and so does a worker that only answers kept pages before Flask (page_cache_wsgi.py).
        app.extensions.setdefault("per_request_starts", []).append(queue.ensure_running)


def _state():
    return current_app.extensions["search"]


def suggest(query: str, *, limit: int = 5, types: Iterable[str] = ("thread", "article", "idea")) -> list[dict]:
    """Up to ``limit`` matches for ``query``: solved threads and official articles first among equals."""
    return _state().suggest(query, limit=limit, types=tuple(types or ()))


def related(thread_id: int, title: str, tags: Iterable[str] = (), *, limit: int = 5) -> list[dict]:
    """Up to ``limit`` other threads for the thread page's "Related questions": its title and
    tags asked as a suggestion (same ranking, learned evidence included), itself left out."""
    text = " ".join([title or "", *(tags or ())])
    hits = _state().suggest(text, limit=limit + 1, types=("thread",))
    return [hit for hit in hits if hit["id"] != thread_id][:limit]


def explain(query: str, keys: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """``{key: [(field, stem)]}``: which of the query's stems each document matched, and where."""
    from .explain import matched_terms

    return matched_terms(_state(), query, list(keys))


def search(query: str, *, category_id: int | None = None, solved: bool | None = None,
           type: str | None = None, since: datetime | None = None, until: datetime | None = None,
           page: int = 1, per_page: int = 20, sort: str = "relevance") -> SearchResults:
    """A page of results for the search page (``type`` is "thread", "article" or "idea"; ``sort``
    one of ``schema.SORTS``: relevance, newest, active, votes)."""
    return _state().search(query, category_id=category_id, solved=solved, type=type, since=since,
                           until=until, page=page, per_page=per_page, sort=sort)


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the index from the database; ``progress(n)`` is called as documents are done."""
    return _state().rebuild(progress=progress)


def rebuilding() -> bool:
    """True while the index is rebuilt after an upgrade changed its schema (never on PostgreSQL,
    whose schema migrations change)."""
    return bool(getattr(_state(), "rebuilding", lambda: False)())


def count() -> int:
    """Documents in the index."""
    return _state().count()


def warm() -> int:
    """Read ahead what this process's first queries would read (a serving worker calls it as
    it starts; ``gunicorn.conf.py``).  Returns the index segments read (0 on PostgreSQL)."""
    return _state().warm()


def total() -> int:
    """Documents a rebuild would write (for progress bars)."""
    return _state().total()


def touch(*keys: str) -> None:
    """Re-index documents now, e.g. ``touch("thread:3")`` after a bulk UPDATE statement."""
    _state().reindex(keys)


def changed(*keys: str) -> None:
    """Index ``keys`` when the current transaction commits, e.g. ``changed("thread:3")`` after a
    DELETE statement (race-safe where an ORM delete is not), as if the ORM had changed them."""
    from ..extensions import db
    from .listeners import collect

    collect(db.session(), keys)


def drift() -> dict[str, list]:
    """Where the index and the database disagree: ``{"missing", "extra", "stale"}`` keys
    (``compare.py``: ids and each document's stored fields, not only the counts)."""
    from sqlalchemy.orm import Session

    from ..extensions import db
    from .compare import index_drift

    with Session(db.engine) as session:
        return index_drift(_state(), session)


def pending() -> int:
    """Index updates committed and not applied yet (the queue of either backend)."""
    from .queue import pending as waiting

    state = _state()
    if getattr(state, "queue", None) is None:
        return 0
    from ..extensions import db

    return waiting(db.session)


def apply_pending(lock_timeout: float = 30.0) -> int | None:
    """Apply the indexing queue now: documents written, ``None`` if the index stayed locked."""
    queue = getattr(_state(), "queue", None)
    return 0 if queue is None else queue.apply(lock_timeout=lock_timeout)


def bulk_writer(timeout: float = 300.0):
    """Context manager for a bulk import's documents: ``.add(documents)``.

    Both backends: documents of each batch handed over after its rows commit and written
    beside the next batch's inserts (Whoosh: one index writer held by a child process;
    PostgreSQL: a thread with its own connection, ``postgres_bulk``).
    """
    from .bulk import bulk_writer as writer

    return writer(timeout)


def create_schema() -> None:
    """Create what the backend keeps in the database (PostgreSQL: ``search_documents``; Whoosh: nothing)."""
    create = getattr(_state(), "create_schema", None)
    if create:
        create()


def drop_schema() -> None:
    drop = getattr(_state(), "drop_schema", None)
    if drop:
        drop()


@contextmanager
def paused():
    """Listeners do nothing inside (a bulk import indexes by itself, then calls ``touch`` or rebuild)."""
    with _state().paused_listeners():
        yield
