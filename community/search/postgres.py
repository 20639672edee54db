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

import math
import re
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
from .analysis import WORD_RE, normalize
from .errors import SearchUnavailable
from .results import SearchResults

log = logging.getLogger(__name__)

TABLE = "search_documents"
#: Weights of ts_rank for D, C, B, A (other answers, accepted, question, title).
RANK_WEIGHTS = "{0.15, 0.35, 0.55, 1.0}"
#: ts_rank (frequency) per word times its IDF; ts_rank_cd (cover density) of the whole OR query
#: measured far worse on bench/relevance.py (recall@5 0.594 against 0.830).
RANK_FUNCTION = "ts_rank"
#: Rank normalisation: 1 = divide by 1 + log(document length) (0: recall@5 0.822).
RANK_NORMALIZATION = 1
SUGGEST_CANDIDATES = 20
#: Weight of a title word that the last, half-typed word begins (a whole-word match counts 1).
PREFIX_WEIGHT = 0.3
#: Words of a query used (the first ones typed carry the subject).
MAX_WORDS = 12
_PREFIX_RE = re.compile(r"[^0-9a-z]+")

COLUMNS = ("key", "type", "id", "url", "title", "question", "accepted", "answers", "tags", "category",
           "category_id", "category_name", "solved", "votes", "prior", "replies", "status", "created",
           "activity", "snippet_text", "question_text")
STORED = ("type", "id", "url", "title", "tags", "category_id", "category_name", "solved", "votes", "replies",
          "status", "created", "activity", "snippet_text", "question_text")

#: The table, as the migration creates it (``IF NOT EXISTS``: tests and `search rebuild` may run it).
CONFIG = "community_search"
#: Unstemmed words with accents folded: what a half-typed word is a prefix of.
PREFIX_CONFIG = "community_prefix"
DDL = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{PREFIX_CONFIG}') THEN
            CREATE TEXT SEARCH CONFIGURATION {PREFIX_CONFIG} (COPY = simple);
            ALTER TEXT SEARCH CONFIGURATION {PREFIX_CONFIG}
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
        END IF;
    END $$""",
    # English stems with accents folded ("Café" finds "cafe"), as the Whoosh analyzer does.
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{CONFIG}') THEN
            CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = english);
            ALTER TEXT SEARCH CONFIGURATION {CONFIG}
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
        END IF;
    END $$""",
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        key varchar(40) PRIMARY KEY,
        type varchar(16) NOT NULL,
        id integer NOT NULL,
        url text NOT NULL,
        title text NOT NULL,
        question text NOT NULL DEFAULT '',
        accepted text NOT NULL DEFAULT '',
        answers text NOT NULL DEFAULT '',
        tags text NOT NULL DEFAULT '',
        category text NOT NULL DEFAULT '',
        category_id integer,
        category_name text NOT NULL DEFAULT '',
        solved boolean NOT NULL DEFAULT false,
        votes integer NOT NULL DEFAULT 0,
        prior real NOT NULL DEFAULT 1,
        replies integer NOT NULL DEFAULT 0,
        status varchar(20) NOT NULL DEFAULT '',
        created timestamp without time zone,
        activity timestamp without time zone,
        snippet_text text NOT NULL DEFAULT '',
        question_text text NOT NULL DEFAULT '',
        vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('{CONFIG}'::regconfig, title), 'A')
            || setweight(to_tsvector('{CONFIG}'::regconfig, tags || ' ' || question), 'B')
            || setweight(to_tsvector('{CONFIG}'::regconfig, accepted), 'C')
            || setweight(to_tsvector('{CONFIG}'::regconfig, answers || ' ' || category), 'D')
        ) STORED,
        title_words tsvector GENERATED ALWAYS AS (to_tsvector('{PREFIX_CONFIG}'::regconfig, title)) STORED
    )""",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_vector ON {TABLE} USING gin (vector)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_title_words ON {TABLE} USING gin (title_words)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_created ON {TABLE} (created)",
)
DROP = (f"DROP TABLE IF EXISTS {TABLE}", f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}",
        f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {PREFIX_CONFIG}")


def words(text_: str | None) -> list[str]:
    """The distinct words of a query, in order (each becomes one ``plainto_tsquery``)."""
    if not isinstance(text_, str):
        return []
    seen: dict[str, None] = {}
    for match in WORD_RE.finditer(text_[:querying.MAX_QUERY_CHARS]):
        word = match.group().lower()
        if len(seen) >= MAX_WORDS:
            break
        seen.setdefault(word, None)
    return list(seen)


def tsquery(words_: list[str], *, prefix: bool, df: Callable[[str], int] | None = None,
            common_df: float = float("inf"), documents_total: int | None = None) -> tuple[str, str, str, str, dict] | None:
    """SQL for (the OR of the words' stems: what ranks; what selects documents; the last word
    as a title-word prefix or ``NULL``) and their parameters.  Words are parameters, never
    tsquery syntax.

    Common words (``df(word) > common_df``) rank but do not select, as Lucene's
    common-terms query and the Whoosh backend do; when every word is common, the
    three rarest must all be there.  Otherwise one "the"-like word would make
    PostgreSQL rank most of the table.
    """
    if not words_:
        return None
    parts, params = [], {}
    for n, word in enumerate(words_):
        params[f"w{n}"] = word
        parts.append(f"plainto_tsquery('{CONFIG}', :w{n})")
    select_sql = " || ".join(parts)
    # BM25-like: each word's ts_rank (field weights, frequency) times its IDF, summed; ts_rank
    # alone has no IDF, so "password" and "error" would weigh the same.
    total = max(documents_total or 0, 1)
    ranks = []
    for n, word in enumerate(words_):
        count = df(word) if df is not None else 0
        params[f"idf{n}"] = math.log(1.0 + (total - count + 0.5) / (count + 0.5))
        ranks.append(f":idf{n} * {RANK_FUNCTION}('{RANK_WEIGHTS}', vector, {parts[n]}, {RANK_NORMALIZATION})")
    rank_sql = " + ".join(ranks)
    if df is not None:
        counts = [df(word) for word in words_]
        rare = [part for part, count in zip(parts, counts) if count <= common_df]
        if rare and len(rare) < len(parts):
            select_sql = " || ".join(rare)
        elif not rare:
            rarest = [part for _count, part in sorted(zip(counts, parts))[:3]]
            select_sql = " && ".join(f"({part})" for part in rarest)
    last = _PREFIX_RE.sub("", words_[-1])
    prefix_sql = "NULL::tsquery"
    if prefix and len(last) >= 3:
        params["prefix"] = last + ":*"
        prefix_sql = f"to_tsquery('{PREFIX_CONFIG}', :prefix)"
    return " || ".join(parts), select_sql, prefix_sql, rank_sql, params


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
        return [presenting.suggestion(dict(row), row["rank"], terms) for row in rows[:limit]]

    def search(self, text_: str, *, category_id=None, solved=None, type=None, since: datetime | None = None,
               until: datetime | None = None, page: int = 1, per_page: int = 20) -> SearchResults:
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
            f" WHERE {' AND '.join(where)} ORDER BY rank DESC, key LIMIT :limit OFFSET :offset", params)
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
