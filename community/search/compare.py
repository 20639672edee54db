"""Where the search index and the database disagree, document by document.

A count of documents misses an index that lost one document and kept another that should
be gone (same count), and a document whose row changed behind the listeners' back (SQL that
bypassed the ORM, a restore of older rows). ``index_drift()`` compares, for every key:

- **missing**: searchable in the database, absent from the index;
- **extra**: in the index, not searchable any more (deleted, hidden, merged);
- **stale**: in both, but a stored field of the index's document (title, tags, category,
  solved, votes, replies, status, times, snippets) differs from the document the database
  gives now: the stored fields are the document's version.

Keys with an update waiting in the indexing queue (``queue.py``) are left out: they are
about to be written. It reads every searchable row, as a rebuild does (a nightly job).
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from . import documents

#: Stale fields named per document in a report (the first few).
SHOWN_FIELDS = 3


def expected_keys(session: Session) -> set[str]:
    """Every key a rebuild would write."""
    return ({f"thread:{i}" for i in documents.all_thread_ids(session)}
            | {f"idea:{i}" for i in documents.all_idea_ids(session)}
            | {f"article:{i}" for i in documents.all_article_ids(session)})


def _queued(session: Session) -> set[str]:
    from ..models import SearchQueueEntry

    return set(session.execute(select(SearchQueueEntry.key)).scalars())


def _whoosh_stored(state) -> tuple[dict[str, dict], set[str]]:
    searcher = state.index.searcher()
    names = set(state.index.index().schema.stored_names())
    return {fields["key"]: fields for fields in searcher.all_stored_fields()}, names


def _postgres_stored(session: Session) -> tuple[dict[str, dict], set[str]]:
    from .postgres_schema import STORED, TABLE

    rows = session.execute(text(f"SELECT key, {', '.join(STORED)} FROM {TABLE}")).mappings()
    return {row["key"]: dict(row) for row in rows}, set(STORED)


def index_drift(state, session: Session) -> dict[str, list]:
    """``{"missing": [key], "extra": [key], "stale": [(key, [field])]}``, each sorted."""
    on_postgres = getattr(state, "in_transaction", False)
    stored, names = _postgres_stored(session) if on_postgres else _whoosh_stored(state)
    expected = expected_keys(session)
    waiting = set() if on_postgres else _queued(session)
    missing = sorted(expected - set(stored) - waiting)
    extra = sorted(set(stored) - expected - waiting)
    stale = []
    for chunk in _chunks(sorted((expected & set(stored)) - waiting)):
        fresh = documents.documents_for(session, chunk)
        for key in chunk:
            doc = fresh.get(key)
            if doc is None:
                continue
            want = state._row(doc) if on_postgres else doc
            differ = sorted(name for name in names if name in want and want[name] != stored[key].get(name))
            if differ:
                stale.append((key, differ[:SHOWN_FIELDS]))
        session.expunge_all()
    return {"missing": missing, "extra": extra, "stale": stale}


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), documents.CHUNK):
        yield keys[start:start + documents.CHUNK]
