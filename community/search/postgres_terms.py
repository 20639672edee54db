"""The PostgreSQL backend's table of words: document frequencies, and typo correction from them.

``search_terms`` (migration ``c7e2a9d4f1b8``) holds every lexeme of
``search_documents.vector`` and the number of documents holding it, as
``ts_stat`` counts them.  ``ts_stat`` reads every vector of the table (seconds at
100,000 threads: ~35 s), so it runs once per ``SEARCH_PG_STATS_SECONDS`` for the
whole site, in a background thread of whichever process first finds the table
stale, never in that request (``PostgresSearch._refresh_in_background``; a
transaction-level advisory lock keeps the others from doing the same at once; every
request reads the previous contents meanwhile, which MVCC keeps whole until the
refresh commits), on ``flask search terms`` (cron), on ``flask search rebuild`` and
after ``flask import``.  Each process then
reads the table into its frequency snapshot.

Typo correction, as the Whoosh backend does it (``query._correct``): a word of
five letters or more whose stem no document holds is replaced by the known
lexeme one edit away (insertion, deletion, substitution or two neighbours
swapped; the first letter kept) held by the most documents.  The near words are
found in the process's snapshot of this table (:func:`corrections`), not by a query (the
trigram index that migration ``c7e2a9d4f1b8`` made for one was dropped by ``a4f9c2e7b1d3``).
"""
from __future__ import annotations

from sqlalchemy import text

from . import query
from .postgres_schema import GIN_INDEXES, TABLE, TERMS, TERMS_REFRESHED

#: Advisory lock key of the refresh (any constant of this application: "search_terms").
LOCK_KEY = 0x7365617263
#: Shortest stem that is corrected (shorter ones have too many neighbours), as for Whoosh.
MIN_LENGTH = 5
#: A lexeme's count is the most documents holding it in one weight class (title A, question and
#: tags B, accepted answer C, other answers D), as the Whoosh backend takes the largest of its
#: fields' document frequencies (``query.DF_FIELDS``): "answer" is in nearly every row of a Q&A
#: site (there are answers) but in few titles and questions, so counted over the whole row it
#: was near-universal and left out of queries Whoosh kept it in (dev recall@5 0.855 -> 0.890,
#: docs/search.md).  That count is the IDF's; ``nrow`` is the documents holding it anywhere (the
#: rows ``vector @@ word`` selects), the two-stage plan's bound (``postgres_plan``): per class,
#: 'condit' counted 359 and was in 885 rows, so a query's bound said 484 where 1,115 rows
#: matched and it was ranked exactly.  Five ``ts_stat`` passes, one per class and one whole.
COUNTS_SQL = ("SELECT word, max(ndoc) FILTER (WHERE class <> ''), max(ndoc) FILTER (WHERE class = '') FROM ("
              + " UNION ALL ".join(f"SELECT word, ndoc, '{weight}' AS class FROM ts_stat('SELECT vector FROM {TABLE}', '{weight}')"
                                   for weight in "abcd")
              + f" UNION ALL SELECT word, ndoc, '' FROM ts_stat('SELECT vector FROM {TABLE}')) AS counts GROUP BY word")


def refresh(connection, *, max_age: float | None = None, wait: bool = False) -> bool:
    """Rebuild ``search_terms`` from ``ts_stat`` in ``connection``'s transaction, unless it is
    younger than ``max_age`` seconds or another process is refreshing it (``wait``: wait for it
    instead, as a rebuild does).  Returns whether it was rebuilt."""
    if wait:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif not connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}).scalar():
        return False
    if max_age is not None and connection.execute(text(
            f"SELECT at > now() - make_interval(secs => :age) FROM {TERMS_REFRESHED}"), {"age": max_age}).scalar():
        return False
    merge_pending(connection)
    connection.execute(text(f"DELETE FROM {TERMS}"))
    connection.execute(text(f"INSERT INTO {TERMS} (term, ndoc, nrow) {COUNTS_SQL}"))
    connection.execute(text(
        f"INSERT INTO {TERMS_REFRESHED} (id, at, documents) VALUES (1, now(), (SELECT count(*) FROM {TABLE}))"
        " ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, documents = EXCLUDED.documents"))
    return True


def merge_pending(connection) -> int:
    """Merge the GIN indexes' pending lists into the indexes (``postgres_schema.GIN_INDEXES``):
    every search reads a pending list whole.  Returns the pages merged."""
    return sum(connection.execute(text(f"SELECT gin_clean_pending_list(CAST(:name AS regclass))"),
                                  {"name": name}).scalar() or 0 for name in GIN_INDEXES)


def frequencies(connection) -> tuple[dict[str, int], dict[str, int]]:
    """``({lexeme: its count, the most in one class}, {lexeme: the rows holding it, where more})``
    as last refreshed (a table refreshed before ``nrow`` existed: the first only)."""
    counts, rows = {}, {}
    for term, ndoc, nrow in connection.execute(text(f"SELECT term, ndoc, nrow FROM {TERMS}")):
        counts[term] = ndoc
        if nrow and nrow > ndoc:
            rows[term] = nrow
    return counts, rows


def one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is one insertion, deletion, substitution or swap of neighbours from ``a``."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                   and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


def correctable(stem: str, known: dict[str, int]) -> bool:
    return len(stem) >= MIN_LENGTH and stem.isalpha() and stem.isascii() and known.get(stem, 0) == 0


def letters(known: dict[str, int]) -> str:
    """Every character of the known lexemes: what an edit of a typed word may bring in."""
    return "".join(sorted({character for term in known for character in term}))


def corrections(stems: list[str], known: dict[str, int], alphabet: str) -> dict[str, str]:
    """``{unknown stem: the known lexeme one edit away held by the most documents}`` for those
    of ``stems`` that have one (the first letter kept; ties by the lexeme).  ``known``: the
    process's snapshot of the table (``frequencies``), ``alphabet`` its :func:`letters`.

    Every string one edit away is looked up in the snapshot (a few hundred to a few thousand
    dictionary lookups, ~0.1-1 ms a word) instead of asking the trigram index
    (``gin_trgm_ops``, similarity 0.2, then the one-edit test): that query took 6.7 ms at p50
    and 12.7 ms at p95 at 100,000 threads, in a transaction of its own, for the one cold
    suggestion in nine that has a word to correct.  The same answers over the benchmark's
    words (docs/search.md, "Eleventh round")."""
    out = {}
    for stem in stems:
        found = [(-known[term], term) for term in query.one_edit_strings(stem, alphabet) if term in known]
        if found:
            out[stem] = min(found)[1]
    return out
