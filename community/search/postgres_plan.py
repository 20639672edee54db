"""How the PostgreSQL backend ranks: every match exactly when few match, else two stages.

Ranking is the costly part of a query, not finding the matches: the GIN index finds
12,000 matching rows in ~2 ms at 100,000 threads, but the rank reads each row's
``vector`` (TOASTed: out of line, stored uncompressed) and calls ``ts_rank`` once per word.
Two things here:

- **The vector is read once per row** (``ranked``): the rank's ``ts_rank`` and ``@@``
  calls name the column ``v``, a copy made in a subquery that the planner may not
  flatten (``OFFSET 0``).  PostgreSQL reads a TOASTed value again for each
  function that reads it, so a six-word query read each vector twelve times.
- **Two stages when many rows match** (``candidates``): when the frequencies say the
  selecting words may match more than ``EXACT_ROWS`` documents, the exact rank is
  computed only for a few bounded sets found through the GIN indexes, each at most
  ``TIER_ROWS`` rows: the documents holding *every* selecting word, the documents whose
  *title* holds one (``title_stems``, small and kept in the row; best title rank first among
  the first ``TITLE_SCAN_ROWS`` found),
  any other matches (in table order), and for a one-word suggestion the title words it
  begins.  A document that holds only some of the words, none in its title, and is not
  among the first ``TIER_ROWS`` matches is not ranked: the approximation, measured
  against the exact ranking at 100,000 threads in docs/search.md.  The sets give their rows'
  addresses, which the ranking reads directly (:func:`chosen`).
"""
from __future__ import annotations

from . import postgres_query
from .postgres_query import Built, rank_columns, rank_of_columns
from .postgres_schema import TABLE

#: Up to this many possible matches (sum of the selecting words' document counts) every
#: match is ranked exactly, as before the two stages.
EXACT_ROWS = 600
#: Rows each candidate set contributes (pages past the first add their offset).
TIER_ROWS = 100
#: The search page counts a two-stage query's matches up to this many ("1,000+ results"):
#: counting 50,000 matches reads 50,000 rows (~0.3-1 s at 100,000 threads).
COUNT_ROWS = 1000
#: The search page's sorts taken in two stages, and the order that picks their candidates
#: (each served by an index of that order, migration a3e7c9d2f5b8): the page's rows are the
#: first in that order whatever their rank.  By date, ties beyond ``TIER_ROWS`` rows of the same
#: second are not ranked; by votes thousands of rows share a count, so the rows holding the last
#: count of the first ones also bring their best-ranked candidates (``by_order``).
STAGED_SORTS = {"relevance": None, "newest": "created DESC NULLS LAST, key",
                "active": "activity DESC NULLS LAST, key", "votes": "votes DESC, key"}
#: A selecting word held by at most this many documents brings all of them.
RARE_ROWS = 300
#: A suggestion's "first other matches" (matches in table order, whatever their rank) and its
#: rare-word sets are smaller than the search page's: its target is 15 ms at 100,000 threads, and
#: each candidate costs its vector read and ranked (docs/search.md, "Twelfth round").
SUGGEST_OTHER_ROWS = 30
SUGGEST_RARE_ROWS = 150
#: Whether the title candidates are the best titles or the first ones.
TITLE_ORDER = True
#: Title matches read to pick the best titles among: a word in 5,846 titles ("should") read every
#: one of them, each on a heap page of its own (99 ms at 100,000 threads, load 16; the query's
#: slowest part).  The best ``TIER_ROWS`` of the first ``TITLE_SCAN_ROWS`` found are taken.
TITLE_SCAN_ROWS = 1000


def exact(built: Built) -> bool:
    return built.bound <= EXACT_ROWS


#: Selecting words matching more than this share of the documents find their "first other
#: matches" by reading the table in order (the function ``ts_match_vq``, which no index answers)
#: instead of the GIN index: the index builds the bitmap of every match first ("should", in 55,000
#: documents: 98 ms for 100 rows at load 20), a scan in table order stops after the first 100 (about
#: 200 rows read when half the rows match).  Both give the first matches in table order.
#: Not when every word is common and two or more are AND-ed: their bound is the rarest's rows, but
#: the AND holds far fewer ("Places to look", place & look: the scan read 12,434 buffers, 52 ms,
#: for its 100 rows), and the index intersects the words' lists cheaply.  One common word alone
#: ("Should we have to that": "should", the others stop words) matches as many rows as its bound
#: says, so it is scanned (its bitmap, 55,000 rows, took 16 ms of the query at 100,000 threads).
DENSE_SHARE = 0.1


#: Candidates are fetched by their row's address (``ctid``), which each set already read, not
#: by ``key IN (...)``, which looked every candidate up again in the primary key's B-tree.
FETCH_BY_ROW = True


def chosen(candidate_sql: str) -> str:
    """The condition selecting the rows of ``candidate_sql`` (from :func:`candidates` or
    :func:`by_order`, asked for with ``column=`` :func:`fetched_column`)."""
    return f"ctid = ANY(ARRAY({candidate_sql}))" if FETCH_BY_ROW else f"key IN ({candidate_sql})"


def fetched_column() -> str:
    """The column the candidate sets give for :func:`chosen`: the row's address or its key."""
    return "ctid" if FETCH_BY_ROW else "key"


def candidates(built: Built, filters: str, *, prefix: bool = False, extra: int = 0, documents: int = 0,
               column: str = "key", suggestion: bool = False) -> str:
    """SQL selecting the candidates' ``column`` (``key`` or ``ctid``): the union of the bounded
    sets (module docstring); ``documents``: how many the table holds (for :data:`DENSE_SHARE`);
    ``suggestion``: the smaller sets of :data:`SUGGEST_OTHER_ROWS` and :data:`SUGGEST_RARE_ROWS`."""
    limit = f"LIMIT {TIER_ROWS + int(extra)}"
    others, rare_rows = (SUGGEST_OTHER_ROWS, SUGGEST_RARE_ROWS) if suggestion else (TIER_ROWS, RARE_ROWS)
    where = f" AND {filters}" if filters else ""
    tiers = []
    if len(built.selecting) > 1 and not built.all_of:
        every = " && ".join(f"({part})" for part in built.selecting)
        tiers.append(f"SELECT {column} FROM {TABLE} WHERE vector @@ ({every}){where} {limit}")
    tiers.append(title_tier(built, where, column, limit))
    for part, count in built.counts:
        if count <= rare_rows and not built.all_of:
            tiers.append(f"SELECT {column} FROM {TABLE} WHERE vector @@ ({part}){where} LIMIT {rare_rows}")
    tiers.append(f"SELECT {column} FROM {TABLE} WHERE {_matching(built, documents)}{where} LIMIT {others + int(extra)}")
    if prefix:
        tiers.append(f"SELECT {column} FROM {TABLE} WHERE title_words @@ ({built.p}){where} {limit}")
    return " UNION ".join(f"({tier})" for tier in tiers)


def title_tier(built: Built, where: str, column: str, limit: str) -> str:
    """The title set: the documents whose title holds a selecting word (two of the three rarest
    when every word is common), the best ``limit`` by the title's rank among the first
    :data:`TITLE_SCAN_ROWS` found.  ``where``: `` AND`` the filters, or ''."""
    titled = built.sel
    if built.all_of and len(built.selecting) > 2:  # every word common: a title holding two of the three
        pairs = [(a, b) for i, a in enumerate(built.selecting) for b in built.selecting[i + 1:]]
        titled = " || ".join(f"(({a}) && ({b}))" for a, b in pairs)
    if not TITLE_ORDER:
        return f"SELECT {column} FROM {TABLE} WHERE title_stems @@ ({titled}){where} {limit}"
    # ``title_rank`` names the column ``title_stems``: the subquery keeps that name.
    scanned = (f"(SELECT {column} AS found, key, title_stems, prior FROM {TABLE} WHERE title_stems @@ ({titled}){where}"
               f" LIMIT {TITLE_SCAN_ROWS}) AS t")
    # Named ``column`` again: the union's columns are its first tier's (``by_order`` reads ``key``).
    if not postgres_query.RANK_ONCE:
        return f"SELECT found AS {column} FROM {scanned} ORDER BY ({built.title_rank}) * prior DESC, key {limit}"
    ranks = f"(SELECT found, key, prior, title_stems, {rank_columns(built, 'title_stems')} FROM {scanned} OFFSET 0) AS t"
    return (f"SELECT found AS {column} FROM {ranks}"
            f" ORDER BY ({rank_of_columns(built, 'title_stems')}) * prior DESC, key {limit}")


#: The row's vector read out of line once, into a copy that every call of the rank reads (``ranked``).
#: ``setweight`` with no lexemes to weigh returns the vector unchanged, detoasted and copied as one
#: block; ``vector || ''`` (until the fourteenth round) built a new vector lexeme by lexeme: ranking
#: statements of 300 cold suggestions at 100,000 threads executed in 5.8 ms on average against 6.8
#: (docs/search.md, "Fourteenth round").
VECTOR_COPY = "setweight(vector, 'A', '{}'::text[])"


def ranked(columns: str, where: str) -> str:
    """A subquery of ``columns`` and ``v`` (the row's vector, read once: :data:`VECTOR_COPY`) of the
    rows ``where`` selects; ``OFFSET 0`` keeps the planner from substituting ``vector`` back into
    each call of the rank."""
    return f"(SELECT {columns}, {VECTOR_COPY} AS v FROM {TABLE} WHERE {where} OFFSET 0)"


def dense(built: Built, documents: int) -> bool:
    """Whether ``built``'s selection is read in table (or an index's) order (:data:`DENSE_SHARE`)."""
    return (bool(documents) and built.bound > DENSE_SHARE * documents
            and (not built.all_of or len(built.selecting) == 1))


def _matching(built: Built, documents: int) -> str:
    """The selection, written so that no GIN index answers it when it is dense: the rows are then
    read in the order of the scan (the table's, or a sort's index) until the ``LIMIT``."""
    return f"ts_match_vq(vector, {built.sel})" if dense(built, documents) else f"vector @@ ({built.sel})"


def by_order(built: Built, filters: list[str], sort: str, extra: int = 0, documents: int = 0) -> str:
    """SQL selecting the keys of a sorted page's candidates: the first matches in the order of
    ``sort`` (:data:`STAGED_SORTS`; a dense selection walks that order's index and stops at the
    ``LIMIT``, a sparse one is found through the GIN index and sorted), and by votes also the
    best-ranked candidates among the rows holding the last vote count of those."""
    order = STAGED_SORTS[sort]
    where = " AND ".join([_matching(built, documents), *filters])
    first = f"SELECT {{}} FROM {TABLE} WHERE {where} ORDER BY {order} LIMIT {TIER_ROWS + int(extra)}"
    if sort != "votes":
        return first.format("key")
    # The first rows read once (a CTE referenced twice is materialised once; written into each
    # tier as a subquery, the walk ran once per tier: 5 x 90 ms).
    tied = "votes = (SELECT min(votes) FROM first)"
    return (f"WITH first AS MATERIALIZED ({first.format('key, votes')}) SELECT key FROM first UNION"
            f" SELECT key FROM ({candidates(built, ' AND '.join([*filters, tied]), extra=extra, documents=documents)}) AS tied")
