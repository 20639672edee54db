"""The PostgreSQL search backend (``SEARCH_BACKEND=postgres``): full-text search in the database.

Whoosh's index is a local directory with one writer, so two app servers
cannot share it.  Here the documents live in the table ``search_documents``
(created by the migration ``b3d9e4f1a2c7``; nothing on SQLite), one row per
searchable thread, article and idea, with the same fields as a Whoosh
document.  Its ``vector`` is a generated ``tsvector`` column, so PostgreSQL
computes it from the text in the statement that writes the row, weighted
title (A) above tags and question (B) above the accepted answer (C) above
other answers and the category (D), with a GIN index.

Writes happen **in the transaction that changed the content**: before a
session commits, the keys its flush collected (``listeners``) are loaded
through the same session and upserted, after a transaction-scoped advisory
lock per key (take the lock first, then read: whoever writes last has read
the latest committed state).  So a rollback leaves nothing, and every app
instance on the database sees a new thread in suggestions at once.

Queries read on a connection of their own (never the caller's transaction,
which a failed query would abort): the words typed, each through
``plainto_tsquery`` (English stems, accents folded, stop words: any input is
safe), OR-ed; common words rank but do not select; the last word of a
one-word suggestion also as a prefix of the unstemmed title words ("jamm" is
no prefix of the stem "jam"), so suggestions follow typing.  Ranked by the
sum over words of ``ts_rank`` (weighted, length-normalised) times the word's
IDF (from a per-process ``ts_stat`` snapshot), times the stored prior
(solved, votes).  Snippets are cut from the stored text by
``snippets`` exactly as for Whoosh.  Any database error raises
:class:`SearchUnavailable`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import logging

from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import documents, presenting
from . import query as querying
from .analysis import normalize
from .errors import SearchUnavailable
from .postgres_query import tsquery, words
from .postgres_schema import COLUMNS, DDL, DROP, STORED, TABLE
from .results import SearchResults

log = logging.getLogger(__name__)

SUGGEST_CANDIDATES = 20
#: Weight of a title word that the last, half-typed word begins (a whole-word match counts 1).
PREFIX_WEIGHT = 0.3


#: The search page's orders (``schema.SORTS``), ties by best match as in the Whoosh backend.
ORDERS = {"relevance": "rank DESC, key", "newest": "created DESC NULLS LAST, rank DESC, key",
          "active": "activity DESC NULLS LAST, rank DESC, key", "votes": "votes DESC, rank DESC, key"}


class PostgresSearch:
    """``app.extensions["search"]`` when ``SEARCH_BACKEND=postgres``; the same methods as Whoosh's."""

    #: Documents are written before the commit, in the writing transaction (see ``listeners``).
    in_transaction = True

    def __init__(self, app: Flask):
        self.app = app
        self.paused = False
        #: (loaded at, documents, {lexeme: documents containing it}), per process.
        self._stats: tuple[float, int, dict[str, int]] | None = None
        self.stats_seconds = float(app.config.get("SEARCH_PG_STATS_SECONDS") or 600)

    def _document_frequencies(self) -> tuple[int, dict[str, int]]:
        """Documents and each lexeme's document count (``ts_stat``), refreshed every
        ``SEARCH_PG_STATS_SECONDS``; a word newer than the snapshot counts as rare, which it is."""
        import time

        now = time.monotonic()
        if self._stats is None or now - self._stats[0] > self.stats_seconds:
            rows = self._read(f"SELECT word, ndoc FROM ts_stat('SELECT vector FROM {TABLE}')", {})
            total = self._read(f"SELECT count(*) AS n FROM {TABLE}", {})[0]["n"]
            self._stats = (now, total, {row["word"]: row["ndoc"] for row in rows})
        return self._stats[1], self._stats[2]

    def _tsquery(self, text_: str | None, *, prefix: bool):
        found = words(text_)
        if not found:
            return None
        total, frequencies = self._document_frequencies()
        limit = max(querying.COMMON_RATIO * total, querying.COMMON_MIN_DF)
        return tsquery(found, prefix=prefix, common_df=limit, documents_total=total,
                       df=lambda word: frequencies.get(normalize(word), 0))

    # -- schema ---------------------------------------------------------------

    def create_schema(self) -> None:
        from ..extensions import db

        with db.engine.begin() as connection:
            for statement in DDL:
                connection.execute(text(statement))

    def drop_schema(self) -> None:
        from ..extensions import db

        with db.engine.begin() as connection:
            for statement in DROP:
                connection.execute(text(statement))

    # -- writing --------------------------------------------------------------

    @contextmanager
    def paused_listeners(self) -> Iterator[None]:
        previous, self.paused = self.paused, True
        try:
            yield
        finally:
            self.paused = previous

    def write(self, session: Session, keys: Iterable[str]) -> None:
        """Re-index ``keys`` in ``session``'s transaction (locks first, then reads)."""
        keys = sorted(set(keys))
        if not keys:
            return
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(CAST(:keys AS text[])) AS k"
                             " ORDER BY k"), {"keys": keys})
        docs = documents.documents_for(session, keys)
        gone = [key for key in keys if docs.get(key) is None]
        if gone:
            session.execute(text(f"DELETE FROM {TABLE} WHERE key = ANY(CAST(:keys AS text[]))"), {"keys": gone})
        self._upsert(session, [docs[key] for key in keys if docs.get(key) is not None])

    @staticmethod
    def _row(doc: dict) -> dict:
        row = {name: doc.get(name) for name in COLUMNS}
        row["category_id"] = int(doc["category_id"]) if doc.get("category_id") else None
        row["prior"] = (doc.get("prior") or 1000) / 1000.0
        for name in ("question", "accepted", "answers", "tags", "category", "category_name", "status",
                     "snippet_text", "question_text"):
            row[name] = row[name] or ""
        row["votes"], row["replies"] = int(row["votes"] or 0), int(row["replies"] or 0)
        row["solved"] = bool(row["solved"])
        return row

    def _upsert(self, session: Session, docs: list[dict]) -> int:
        if not docs:
            return 0
        names = ", ".join(COLUMNS)
        values = ", ".join(f":{name}" for name in COLUMNS)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in COLUMNS if name != "key")
        session.execute(text(f"INSERT INTO {TABLE} ({names}) VALUES ({values}) "
                             f"ON CONFLICT (key) DO UPDATE SET {updates}"), [self._row(d) for d in docs])
        return len(docs)

    def reindex(self, keys: Iterable[str]) -> bool:
        """Re-index ``keys`` in a transaction of its own (``touch`` after SQL that bypassed the ORM)."""
        from ..extensions import db

        with Session(db.engine) as session, session.begin():
            self.write(session, keys)
        return True

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Replace every row in one transaction: readers see the old documents until it commits."""
        from ..extensions import db

        self.create_schema()
        written = 0
        with Session(db.engine) as session, session.begin():
            session.execute(text(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE"))
            session.execute(text(f"DELETE FROM {TABLE}"))
            groups = ((documents.all_thread_ids(session), documents.thread_documents),
                      (documents.all_idea_ids(session), documents.idea_documents),
                      (documents.all_article_ids(session), documents.article_documents))
            for ids, load in groups:
                for start in range(0, len(ids), documents.CHUNK):
                    chunk = ids[start:start + documents.CHUNK]
                    docs = [d for d in load(session, chunk).values() if d is not None]
                    written += self._upsert(session, docs)
                    if progress:
                        progress(len(chunk))
                    session.expunge_all()
        return written

    def total(self) -> int:
        from ..extensions import db

        with Session(db.engine) as session:
            return (len(documents.all_thread_ids(session)) + len(documents.all_idea_ids(session))
                    + len(documents.all_article_ids(session)))

    # -- reading --------------------------------------------------------------

    def _read(self, sql: str, params: dict) -> list:
        from ..extensions import db

        try:
            with db.engine.connect() as connection:
                return list(connection.execute(text(sql), params).mappings())
        except SQLAlchemyError as exc:
            log.exception("PostgreSQL search failed; answering 'search unavailable'.")
            raise SearchUnavailable("Search is temporarily unavailable.") from exc

    def count(self) -> int:
        return self._read(f"SELECT count(*) AS n FROM {TABLE}", {})[0]["n"]

    def suggest(self, text_: str, *, limit: int = 5, types=documents.SEARCH_TYPES) -> list[dict]:
        types = tuple(t for t in (types or ()) if t in documents.SEARCH_TYPES)
        if limit <= 0 or not types:
            return []
        built = self._tsquery(text_, prefix=True)
        if built is None:
            return []
        q, sel, p, rank, params = built
        params.update(types=list(types), limit=max(limit, SUGGEST_CANDIDATES))
        # The half-typed last word selects documents by itself only when it is the only word.
        prefix_selects = "p IS NOT NULL AND title_words @@ p" if len(words(text_)) == 1 else "false"
        # The half-typed last word matches title words it begins (ranked a little, below whole words).
        rows = self._read(
            f"SELECT {', '.join(STORED)}, ({rank}"
            f" + {PREFIX_WEIGHT} * coalesce(ts_rank(title_words, p), 0)) * prior AS rank"
            f" FROM {TABLE}, (SELECT {q} AS q, {sel} AS sel, {p} AS p) AS query"
            f" WHERE (vector @@ sel OR ({prefix_selects}))"
            " AND type = ANY(CAST(:types AS text[])) ORDER BY rank DESC, key LIMIT :limit",
            params)
        terms = querying.analyze(text_)
        ranked = [(row["rank"], dict(row)) for row in rows]
        return [presenting.suggestion(f, score, terms) for score, f in presenting.order_suggestions(ranked, limit)]

    def search(self, text_: str, *, category_id=None, solved=None, type=None, since: datetime | None = None,
               until: datetime | None = None, page: int = 1, per_page: int = 20,
               sort: str = "relevance") -> SearchResults:
        page = max(1, int(page or 1))
        per_page = min(max(1, int(per_page or 20)), 100)
        result = SearchResults(query=text_ or "", page=page, per_page=per_page)
        built = self._tsquery(text_, prefix=False)
        if built is None:
            return result
        q, sel, _p, rank, params = built
        where = ["vector @@ sel"]
        if category_id not in (None, ""):
            try:
                params["category_id"] = int(category_id)
            except (TypeError, ValueError):
                return result
            where.append("category_id = :category_id")
        if solved is not None:
            params["solved"] = bool(solved)
            where.append("solved = :solved")
        if type in documents.SEARCH_TYPES:
            params["type"] = type
            where.append("type = :type")
        if since:
            params["since"] = since
            where.append("created >= :since")
        if until:
            params["until"] = until
            where.append("created <= :until")
        params.update(limit=per_page, offset=(page - 1) * per_page)
        rows = self._read(
            f"SELECT {', '.join(STORED)}, ({rank}) * prior"
            f" AS rank, count(*) OVER () AS total FROM {TABLE}, (SELECT {q} AS q, {sel} AS sel) AS query"
            f" WHERE {' AND '.join(where)} ORDER BY {ORDERS.get(sort, ORDERS['relevance'])}"
            " LIMIT :limit OFFSET :offset", params)
        if rows:
            result.total = rows[0]["total"]
        elif page > 1:
            result.total = self._read(
                f"SELECT count(*) AS n FROM {TABLE}, (SELECT {q} AS q, {sel} AS sel) AS query"
                f" WHERE {' AND '.join(where)}", params)[0]["n"]
        terms = querying.analyze(text_)
        result.results = [presenting.page_hit(dict(row), row["rank"], terms) for row in rows]
        return result


class PostgresBulkIndexer:
    """``search.bulk_writer()`` on PostgreSQL: documents upserted in the importer's transaction."""

    in_transaction = True

    def __init__(self, state: PostgresSearch):
        self.state = state
        self.count = 0

    def add(self, docs: list[dict]) -> int:
        from ..extensions import db

        written = self.state._upsert(db.session, docs)
        self.count += written
        return written
