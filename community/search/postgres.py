"""The PostgreSQL search backend (``SEARCH_BACKEND=postgres``): full-text search in the database.

Whoosh's index is a local directory with one writer, so two app servers
cannot share it.  Here the documents live in the table ``search_documents``
(created by the migration ``b3d9e4f1a2c7``; nothing on SQLite), one row per
searchable thread, article and idea, with the same fields as a Whoosh
document.  Its ``vector`` is a generated ``tsvector`` column, so PostgreSQL
computes it from the text in the statement that writes the row, weighted
title (A) above tags and question (B) above the accepted answer (C) above
other answers, the category and the learned evidence (D), with a GIN index.

Writes happen **in the transaction that changed the content**: before a
session commits, the keys its flush collected (``listeners``) are loaded
through the same session and upserted, after a transaction-scoped advisory
lock per key (take the lock first, then read: whoever writes last has read
the latest committed state).  So a rollback leaves nothing, and every app
instance on the database sees a new thread in suggestions at once.

Queries read on a connection of their own (never the caller's transaction,
which a failed query would abort): the words typed less the Whoosh analyzer's
stop words, each through ``plainto_tsquery`` (English stems, accents folded: any
input is safe), OR-ed; common words rank but do not select; the last word of a
one-word suggestion also as a prefix of the unstemmed title words ("jamm" is
no prefix of the stem "jam"), so suggestions follow typing.  Ranked by the
sum over words of ``ts_rank`` (weighted, length-normalised) times the word's
IDF (from a per-process snapshot of ``search_terms``), times the stored prior
(solved, votes); a suggestion's best ``postgres_rescore.WINDOW`` rows are scored
again as the Whoosh ranker scores (BM25 per weight class, phrase bonus).  Snippets are cut from the stored text by
``snippets`` exactly as for Whoosh.  Any database error raises
:class:`SearchUnavailable`.
"""
from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import logging
import re
import threading

from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import documents, postgres_terms, presenting
from . import postgres_query
from . import postgres_rescore as rescore
from . import postgres_headline as headline
from . import postgres_plan as plan
from . import query as querying
from .analysis import normalize
from .errors import SearchUnavailable
from .postgres_query import Lexeme, tsquery, words
from .postgres_schema import COLUMNS, CONFIG, DDL, DROP, SESSION_SETTINGS, STORED, TABLE, TERMS, TERMS_REFRESHED
from .results import Hit, SearchResults

log = logging.getLogger(__name__)

SUGGEST_CANDIDATES = 20
#: Weight of a title word that the last, half-typed word begins (a whole-word match counts 1).
PREFIX_WEIGHT = 0.3
#: Words whose lexemes a process keeps (``_lexemes``).
LEXEME_CACHE_SIZE = 20000
#: The stored fields a suggestion's ranking reads (order, topics, what is shown); the long texts
#: (``snippet_text``, ``question_text``) are read only for the suggestions shown, with their headline.
RANKED_FIELDS = tuple(name for name in STORED if name not in ("snippet_text", "question_text"))
#: Run first in each query's transaction: the candidate sets are built to be answered by the GIN
#: indexes, a ``LIMIT`` at a time, and the planner, which cannot tell how many rows an OR of
#: words matches, took a sequential scan for "the first 120 matches" of two rare words: it read
#: and decompressed 34,000 rows' vectors to find them (383 ms of a 400 ms query at 100,000 threads).
#: A scan the plan asks for on purpose (``postgres_plan.DENSE_SHARE``) has no index to use and stays.
#: JIT off: the cost the planner then adds to such a scan (10^10) is over ``jit_above_cost``, and
#: compiling the query took 6.5 s at load 20 for a 150 ms query.  No synchronised scans: a scan
#: joining another one mid-table would find other "first" matches than the index does.
READ_SETTINGS = ("SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true),"
                 " set_config('synchronize_seqscans', 'off', true)")

#: Reading statements go to the driver as written (``:name`` parameters as psycopg's ``%(name)s``):
#: each suggestion's ranking statement is a text never seen before, which SQLAlchemy's ``text()``
#: parsed and compiled anew: 0.8-0.9 ms of the app's ~4 ms CPU a cold suggestion at 100,000 threads
#: (docs/search.md, "Thirteenth round").  Writes keep ``text()``.
DRIVER_SQL = True
#: A parameter as ``text()`` finds one (``sqlalchemy.sql.elements.TextClause``): not a ``::`` cast.
_PARAMETER = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")


def driver_sql(sql: str) -> str:
    """``sql``'s ``:name`` parameters as psycopg's ``%(name)s`` (and a ``%`` as ``%%``), as ``text()`` compiles it."""
    return _PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


def _execute(connection, sql: str, params: dict | None = None):
    """``sql`` (``:name`` parameters) with ``params`` on ``connection``, through the driver (:data:`DRIVER_SQL`)."""
    if not DRIVER_SQL:
        return connection.execute(text(sql), params or {})
    return connection.exec_driver_sql(driver_sql(sql), params or {})


#: The search page's orders (``schema.SORTS``), ties by best match as in the Whoosh backend.
ORDERS = {"relevance": "rank DESC, key", "newest": "created DESC NULLS LAST, rank DESC, key",
          "active": "activity DESC NULLS LAST, rank DESC, key", "votes": "votes DESC, rank DESC, key"}


def _session_settings(dbapi_connection, _record) -> None:
    """``SESSION_SETTINGS`` on each new PostgreSQL connection (committed: a rolled-back ``SET`` is undone)."""
    if not hasattr(dbapi_connection, "pgconn"):
        return  # not psycopg (SQLite beside, in tests)
    with dbapi_connection.cursor() as cursor:
        for statement in SESSION_SETTINGS:
            cursor.execute(statement)
    dbapi_connection.commit()


class PostgresSearch:
    """``app.extensions["search"]`` when ``SEARCH_BACKEND=postgres``; the same methods as Whoosh's."""

    #: Documents are written before the commit, in the writing transaction (see ``listeners``).
    in_transaction = True

    def __init__(self, app: Flask):
        self.app = app
        self.paused = False
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        if not event.contains(Engine, "connect", _session_settings):
            event.listen(Engine, "connect", _session_settings)
        #: (loaded at, documents, {lexeme: its count}, class averages, {lexeme: rows holding it}), per process.
        self._stats: tuple[float, int, dict[str, int], dict[str, float], dict[str, int]] | None = None
        self._lexeme_cache: dict[str, tuple[str, ...]] = {}
        #: (the snapshot's frequencies, the characters of their lexemes): typo correction's edits.
        self._alphabet: tuple[dict[str, int], str] | None = None
        #: This process's refresh of ``search_terms`` when one runs (``_refresh_in_background``).
        self._refresher: threading.Thread | None = None
        self._refresher_lock = threading.Lock()
        self.stats_seconds = float(app.config.get("SEARCH_PG_STATS_SECONDS") or 600)

    def _document_frequencies(self) -> tuple[int, dict[str, int]]:
        """Documents and each lexeme's document count (``search_terms``, ``postgres_terms``),
        read every ``SEARCH_PG_STATS_SECONDS`` (a table that old is refreshed in the background or by
        ``flask search terms``); a word newer than the snapshot counts as rare, which it is."""
        stats = self._snapshot()
        return stats[1], stats[2]

    def _snapshot(self) -> tuple[float, int, dict[str, int], dict[str, float], dict[str, int]]:
        """(read at, documents, frequencies, each weight class's average length for the rescoring,
        the rows holding a word where more than its count: ``postgres_terms.frequencies``).

        Reads the table of words as last refreshed, never refreshing it here: ``ts_stat`` takes
        ~37 s at 100,000 threads, and the request that first found the table stale waited for
        it.  A stale table starts :meth:`_refresh_in_background` instead; only a table never
        built (a new site before its first import or rebuild, which build it) is built here."""
        import time

        now, stats = time.monotonic(), self._stats  # (a background refresh may set it to None)
        if stats is None or now - stats[0] > self.stats_seconds:
            def read(connection):
                stale = connection.execute(text(
                    f"SELECT at <= now() - make_interval(secs => :age) FROM {TERMS_REFRESHED}"),
                    {"age": self.stats_seconds}).scalar()
                if stale is None:  # never built (no import or rebuild yet): no last table to use
                    postgres_terms.refresh(connection)
                total = connection.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar()
                averages = connection.execute(text(rescore.averages_sql())).mappings().one()
                counts, rows = postgres_terms.frequencies(connection)
                return stale, total, counts, {k: float(v or 0) for k, v in averages.items()}, rows

            stale, total, frequencies, averages, rows = self._transaction(read)
            self._stats = stats = (now, total, frequencies, averages, rows)
            if stale:
                self._refresh_in_background()
        return stats

    def _refresh_in_background(self) -> threading.Thread | None:
        """Refresh ``search_terms`` in a daemon thread of this process (one at a time here; the
        advisory lock of ``postgres_terms.refresh`` lets one process at a time do it), then forget
        this process's snapshot so that the next query reads the new table.  Requests meanwhile
        use the last table (MVCC keeps it whole until the refresh commits)."""
        with self._refresher_lock:
            if self._refresher is not None and self._refresher.is_alive():
                return None

            def run():
                try:
                    with self.app.app_context():
                        if self._transaction(lambda c: postgres_terms.refresh(c, max_age=self.stats_seconds)):
                            self._stats = None
                except Exception:  # noqa: BLE001 - logged; the next stale snapshot tries again
                    log.exception("Refreshing the table of search words failed.")

            self._refresher = threading.Thread(target=run, name="search-terms-refresh", daemon=True)
            self._refresher.start()
            return self._refresher

    def _tsquery(self, text_: str | None, *, prefix: bool):
        prepared = self._prepared(text_, prefix=prefix)
        return None if prepared is None else prepared[0]

    def _prepared(self, text_: str | None, *, prefix: bool):
        """(the SQL of :func:`tsquery`, the words as typed or corrected), or ``None``."""
        found = words(text_)
        if not found:
            return None
        _at, total, frequencies, _averages, rows = self._snapshot()
        if querying.TYPO_FIX:
            found = self._corrected(found, frequencies)
        limit = querying.df_limit(querying.COMMON_RATIO, querying.COMMON_MIN_DF, total)
        in_rows = ChainMap(rows, frequencies)
        built = tsquery(found, prefix=prefix, common_df=limit, documents_total=total, column="v",
                        df=lambda word: _frequency(word, frequencies), rows=lambda word: _frequency(word, in_rows))
        return built, found

    def _letters(self, frequencies: dict[str, int]) -> str:
        """The characters of the snapshot's lexemes (``postgres_terms.letters``), once per snapshot."""
        cached = self._alphabet
        if cached is None or cached[0] is not frequencies:
            self._alphabet = cached = (frequencies, postgres_terms.letters(frequencies))
        return cached[1]

    def _lexemes(self, connection, found: list[str]) -> dict[str, tuple[str, ...]]:
        """``{word: its lexemes}`` as ``plainto_tsquery`` makes them (a correction: itself and the
        typed word's), cached per process (the configuration never changes while it runs)."""
        cache = self._lexeme_cache
        typed = [str(getattr(w, "typed", "") or w) for w in found]
        if len(cache) > LEXEME_CACHE_SIZE:  # before finding the missing: the query's own words go too
            cache.clear()
        missing = sorted({w for w in typed if w not in cache})
        if missing:
            for word, lexemes in _execute(connection,
                    f"SELECT w, tsvector_to_array(to_tsvector('{CONFIG}', w))"
                    " FROM unnest(CAST(:words AS text[])) AS w", {"words": missing}):
                cache[word] = tuple(lexemes or ())
        out = {}
        for word, spelled in zip(found, typed):
            own = cache.get(spelled, ())
            out[str(word)] = ((str(word),) + own) if isinstance(word, Lexeme) else own
        return out

    def _rescored(self, found: list[str], inner: str, params: dict, then=None):
        """``(score, row)`` of the rows of ``inner`` (ordered by the SQL ``rank``, selecting
        ``vector``, the lengths of ``rescore.length_sql`` and an ``extra`` score), best first:
        the first :data:`rescore.WINDOW` scored again by :func:`rescore.score`, times ``prior``,
        the others (past the window) after them in the SQL's order.  ``then(connection, ranked)``,
        if given, runs in the same transaction and its result is returned instead (the shown
        rows' headlines: a transaction less, three round trips, per suggestion)."""
        columns = ", ".join(f"c.{name}" for name in ("key", *RANKED_FIELDS, "prior", "extra", "rank", *rescore.LENGTHS))

        def read(connection):
            _execute(connection, READ_SETTINGS)
            lexemes = self._lexemes(connection, found)
            params["lexemes"] = sorted({lexeme for forms in lexemes.values() for lexeme in forms})
            hits = rescore.hits_sql("c.vector") if rescore.WINDOW else "NULL AS vector_text"
            rows = _execute(connection, f"SELECT {columns}, {hits} FROM ({inner}) AS c ORDER BY c.rank DESC, c.key",
                            params).mappings()
            ranked = self._scored(found, lexemes, [dict(row) for row in rows], params["lexemes"])
            return ranked if then is None else then(connection, ranked)

        return self._transaction(read)

    def _scored(self, found: list[str], lexemes: dict, rows: list[dict], wanted: list[str]) -> list[tuple[float, dict]]:
        """The rows of :meth:`_rescored`'s query, the window scored again (``postgres_rescore``)."""
        window, rest = rows[:rescore.WINDOW], rows[rescore.WINDOW:]
        if not window:
            return [(row["rank"], row) for row in rest]
        needles = rescore.needles(wanted)
        for row in window:
            row["hits"] = rescore.hits(row.pop("vector_text"), wanted, needles)
        scoring = self._rescore_words(found, lexemes)
        _at, total, _frequencies, averages, _rows = self._snapshot()
        ranked = sorted((((rescore.score(row, scoring, total, averages) + float(row["extra"] or 0))
                          * float(row["prior"]), row) for row in window), key=lambda pair: (-pair[0], pair[1]["key"]))
        return ranked + [(row["rank"], row) for row in rest]

    def _rescore_words(self, found: list[str], lexemes: dict[str, tuple[str, ...]]) -> list[rescore.Word]:
        """The words the rescoring scores, pruned as the Whoosh backend prunes stems
        (``query.prune``): known ones, the near-universal left out while others remain, the
        ``MAX_QUERY_TERMS`` rarest, in typed order."""
        total, frequencies = self._document_frequencies()
        candidates = []
        for word in found:
            forms = tuple(dict.fromkeys(lexemes.get(str(word), ())))
            df = max((frequencies.get(lexeme, 0) for lexeme in forms), default=0)
            if forms and df > 0 and not any(forms == other.lexemes for other in candidates):
                candidates.append(rescore.Word(forms, df))
        ceiling = querying.df_limit(querying.MAX_DF_RATIO, querying.NEAR_UNIVERSAL_MIN_DF, total)
        useful = [w for w in candidates if w.df <= ceiling] or candidates
        keep = set(sorted(range(len(useful)), key=lambda i: useful[i].df)[:querying.MAX_QUERY_TERMS])
        common = querying.df_limit(querying.COMMON_RATIO, querying.COMMON_MIN_DF, total)
        return [rescore.Word(w.lexemes, w.df, w.df > common) for i, w in enumerate(useful) if i in keep]

    def _corrected(self, found: list[str], frequencies: dict[str, int]) -> list[str]:
        """``found`` with each word no document holds replaced by its correction, if it has one
        (``postgres_terms.corrections``: one edit, the most documents, from the snapshot); a word
        corrected to one already in the query is dropped."""
        unknown = {word: normalize(word) for word in found if postgres_terms.correctable(normalize(word), frequencies)}
        if not unknown:
            return found
        fixes = postgres_terms.corrections(sorted(set(unknown.values())), frequencies, self._letters(frequencies))
        out: list[str] = []
        for word in found:
            fix = fixes.get(unknown.get(word, ""))
            item = Lexeme.of(fix, typed=word) if fix else word
            if not any(str(item) == str(seen) for seen in out):
                out.append(item)
        return out

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
        for name in ("question", "accepted", "answers", "tags", "category", "learned", "category_name", "status",
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
            postgres_terms.refresh(session.connection(), wait=True)
        self._stats = None
        return written

    def refresh_terms(self) -> int:
        """Rebuild the table of words now (after a bulk import, ``flask search terms``), after any
        refresh running elsewhere, and forget this process's snapshot.  Returns the words."""
        def work(connection):
            postgres_terms.refresh(connection, wait=True)
            return connection.execute(text(f"SELECT count(*) FROM {TERMS}")).scalar()

        words_ = self._transaction(work)
        self._stats = None
        return words_

    def wait_for_refresh(self, timeout: float | None = None) -> bool:
        """Wait for this process's background refresh, if one runs (tests, a clean exit);
        whether none is running now."""
        refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout)
        return refresher is None or not refresher.is_alive()

    def total(self) -> int:
        from ..extensions import db

        with Session(db.engine) as session:
            return (len(documents.all_thread_ids(session)) + len(documents.all_idea_ids(session))
                    + len(documents.all_article_ids(session)))

    # -- reading --------------------------------------------------------------

    def _read(self, sql: str, params: dict) -> list:
        def work(connection):
            _execute(connection, READ_SETTINGS)
            return list(_execute(connection, sql, params).mappings())

        return self._transaction(work)

    @staticmethod
    def _transaction(work):
        """``work(connection)`` in a transaction of its own; any database error is ``SearchUnavailable``."""
        from ..extensions import db

        try:
            with db.engine.begin() as connection:
                return work(connection)
        except SQLAlchemyError as exc:
            log.exception("PostgreSQL search failed; answering 'search unavailable'.")
            raise SearchUnavailable("Search is temporarily unavailable.") from exc

    def warm(self) -> int:
        """Nothing to read ahead: the documents, their vectors and the typo table are the
        database's, shared by every process (``SearchState.warm`` is Whoosh's)."""
        return 0

    def count(self) -> int:
        return self._transaction(lambda connection: connection.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar())

    def suggest(self, text_: str, *, limit: int = 5, types=documents.SEARCH_TYPES) -> list[dict]:
        types = tuple(t for t in (types or ()) if t in documents.SEARCH_TYPES)
        if limit <= 0 or not types:
            return []
        prepared = self._prepared(text_, prefix=True)
        if prepared is None:
            return []
        built, found = prepared
        q, p, params = built.q, built.p, built.params
        params.update(types=list(types), limit=max(limit, SUGGEST_CANDIDATES, rescore.WINDOW))
        one_word = len(words(text_)) == 1
        filters = "type = ANY(CAST(:types AS text[]))"
        if plan.exact(built):
            # The half-typed last word selects documents by itself only when it is the only word.
            prefix_selects = f"({p}) IS NOT NULL AND title_words @@ ({p})" if one_word else "false"
            where = f"(vector @@ ({built.sel}) OR ({prefix_selects})) AND {filters}"
        else:  # many matches: the exact rank for the candidates only (``postgres_plan``)
            where = plan.chosen(plan.candidates(built, filters, prefix=one_word, documents=self._snapshot()[1],
                                                column=plan.fetched_column(), suggestion=True))
        lengths = [c for _field, names in rescore.CLASSES.values() for c in names if c not in RANKED_FIELDS]
        columns = ", ".join(dict.fromkeys(("key", *RANKED_FIELDS, "title_words", "prior", *lengths)))
        # The SQL rank picks the window, whose rows are scored again (``postgres_rescore``); the
        # half-typed last word matches title words it begins (a little, below whole words).
        def shown_with_headlines(connection, ranked):
            shown = presenting.order_suggestions(ranked[:max(limit, SUGGEST_CANDIDATES)], limit, connection)
            if not shown:
                return [], {}
            heads = _execute(connection,
                f"SELECT key, snippet_text, {headline.sql('snippet_text')} AS h FROM {TABLE}, (SELECT {q} AS q) AS query"
                " WHERE key = ANY(CAST(:keys AS text[]))", {**params, "keys": [f["key"] for _s, f in shown]}).mappings()
            return shown, {row["key"]: dict(row) for row in heads}

        extra = f"{PREFIX_WEIGHT} * coalesce(ts_rank(title_words, p), 0)"
        if postgres_query.RANK_ONCE:  # each word's rank and the prefix's computed once a row
            ranks = (f"(SELECT d.*, {postgres_query.rank_columns(built, 'v')}, {extra} AS extra FROM"
                     f" {plan.ranked(columns, where)} AS d, (SELECT {p} AS p) AS query OFFSET 0) AS d")
            extra, rank = "extra", f"({postgres_query.rank_of_columns(built, 'v')} + extra) * prior"
        else:
            ranks = f"{plan.ranked(columns, where)} AS d, (SELECT {q} AS q, {p} AS p) AS query"
            extra, rank = f"{extra} AS extra", f"({built.rank} + {extra}) * prior"
        shown, heads = self._rescored(found, (
            f"SELECT key, {', '.join(RANKED_FIELDS)}, prior, v AS vector, {rescore.length_sql()},"
            f" {extra}, {rank} AS rank"
            f" FROM {ranks} ORDER BY rank DESC, key LIMIT :limit"), params, then=shown_with_headlines)
        out = []
        for score, f in shown:
            head = heads.get(f["key"]) or {}
            # The snippet is the database's headline (the stored text is not scanned here again).
            item = presenting.suggestion({**f, "snippet_text": ""}, score, [])
            item["snippet"] = headline.plain(head.get("h"), head.get("snippet_text"))
            out.append(item)
        return out

    def search(self, text_: str, *, category_id=None, solved=None, type=None, since: datetime | None = None,
               until: datetime | None = None, page: int = 1, per_page: int = 20,
               sort: str = "relevance") -> SearchResults:
        page = max(1, int(page or 1))
        per_page = min(max(1, int(per_page or 20)), 100)
        result = SearchResults(query=text_ or "", page=page, per_page=per_page)
        built = self._tsquery(text_, prefix=False)
        if built is None:
            return result
        q, sel, params = built.q, built.sel, built.params
        where = []
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
        # Headlines only for the page's rows: the inner query ranks and cuts, the outer one marks.
        order = ORDERS.get(sort, ORDERS["relevance"])
        matching = " AND ".join([f"vector @@ ({sel})", *where])
        named = sort if sort in ORDERS else "relevance"
        two_stage = not plan.exact(built) and named in plan.STAGED_SORTS
        if not two_stage:
            chosen = matching
        elif named == "relevance":
            chosen = plan.chosen(plan.candidates(built, " AND ".join(where), extra=page * per_page,
                                                 documents=self._snapshot()[1], column=plan.fetched_column()))
        else:  # by date: the first rows in that order (no rank needed to pick them), ranked for ties
            chosen = f"key IN ({plan.by_order(built, where, named, page * per_page, documents=self._snapshot()[1])})"
        page_sql = (
            f"SELECT page.*, {headline.sql('page.title', 'page.hq', title=True)} AS title_h,"
            f" {headline.sql('page.snippet_text', 'page.hq')} AS snippet_h,"
            f" CASE WHEN page.solved THEN {headline.sql('page.question_text', 'page.hq')} END AS question_h"
            f" FROM (SELECT key, {', '.join(STORED)}, ({built.rank}) * prior"
            f" AS rank, count(*) OVER () AS total, q AS hq"
            f" FROM {plan.ranked(', '.join(('key', *STORED, 'prior')), chosen)} AS d, (SELECT {q} AS q) AS query"
            f" ORDER BY {order} LIMIT :limit OFFSET :offset) AS page"
            f" ORDER BY {order}")

        def read(connection):
            """The page, and when its candidates are not all the matches, those counted up to a cap
            (in one transaction: its settings and round trips once)."""
            _execute(connection, READ_SETTINGS)
            rows = [dict(row) for row in _execute(connection, page_sql, params).mappings()]
            counted = None
            if (two_stage or not rows) and (rows or page > 1):  # (past the last page: how many there are)
                counted = _execute(connection, f"SELECT count(*) AS n FROM (SELECT 1 FROM {TABLE} WHERE {matching}"
                                               f" LIMIT {plan.COUNT_ROWS + 1}) AS m", params).scalar()
            return rows, counted

        rows, counted = self._transaction(read)
        if rows and not two_stage:
            result.total = rows[0]["total"]
        elif counted is not None:
            result.total, result.more = min(counted, plan.COUNT_ROWS), counted > plan.COUNT_ROWS
        result.results = [_page_hit(dict(row)) for row in rows]
        return result


def _frequency(word: str, frequencies) -> int:
    """Documents holding ``word`` (a corrected ``Lexeme`` as it is).  PostgreSQL's parser splits
    "doesn't" into "doesn" & "t", which no lexeme of the table spells whole: its count is then the
    rarest part's (an upper bound of the AND), not 0 (which made it the rarest word of a query
    and its matches, ~12,000 at 100,000 threads, all selected).  A part the Whoosh analyzer
    drops (a stop word or one letter: "i'm" is 'i' & 'm', "it's" 'it' & 's') is still a lexeme
    of the index (no stop words there), counted as it is: "i'm" counted 0 and selected as the
    rarest word, and the two-stage plan read its 21,000 rows' bitmap twice (8 and 9 ms)."""
    if isinstance(word, Lexeme):
        return frequencies.get(word, 0)
    found = frequencies.get(normalize(word), 0)
    if found or "'" not in word:
        return found
    parts = [frequencies.get(normalize(part) or part.lower(), 0) for part in word.split("'") if part]
    return min(parts, default=0)


def _page_hit(f: dict) -> Hit:
    """A search-page hit from a row with its headlines (``presenting.page_hit``'s fields; the
    question is shown when a solved thread's accepted answer does not hold the words)."""
    solved = bool(f.get("solved"))
    source, text_, head = ("accepted" if solved else "question"), f.get("snippet_text"), f.get("snippet_h")
    if solved and not headline.marked(head) and headline.marked(f.get("question_h")):
        source, text_, head = "question", f.get("question_text"), f.get("question_h")
    return Hit(
        type=f["type"], id=f["id"], title=f["title"], url=f["url"], solved=solved,
        score=round(float(f["rank"]), 4), votes=f.get("votes") or 0, replies=f.get("replies") or 0,
        status=f.get("status") or "", category_id=int(f["category_id"]) if f.get("category_id") else None,
        category_name=f.get("category_name") or "", tags=(f.get("tags") or "").split(),
        created=f.get("created"), activity=f.get("activity"),
        title_html=headline.html(f.get("title_h") or f["title"], f["title"]),
        snippet_html=headline.html(head, text_), snippet_source=source,
    )
