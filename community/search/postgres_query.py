"""A typed query as PostgreSQL full-text SQL: its words, their stems OR-ed, common words that
rank but do not select, the half-typed last word as a title prefix, and a BM25-like rank.

Pure functions of the text and the document frequencies, so that the SQL the backend runs
can be read and tested without a database.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import NamedTuple

from . import query as querying
from . import ranker
from .analysis import WORD_RE, normalize
from .postgres_schema import CONFIG, PREFIX_CONFIG

#: Weights of ts_rank for D, C, B, A (other answers, accepted, question, title).
RANK_WEIGHTS = "{0.15, 0.35, 0.55, 1.0}"
#: ts_rank (frequency) per word times its IDF; ts_rank_cd (cover density) of the whole OR query
#: measured far worse on bench/relevance.py (recall@5 0.594 against 0.830).
RANK_FUNCTION = "ts_rank"
#: Rank normalisation: 1 = divide by 1 + log(document length) (0: recall@5 0.822).
RANK_NORMALIZATION = 1
#: Words of a query used (the first ones typed carry the subject).
MAX_WORDS = 12
_PREFIX_RE = re.compile(r"[^0-9a-z]+")
_LETTERS = re.compile(r"[a-z]+")
#: Each word's ``ts_rank`` computed once per row (the columns of :func:`rank_columns`) and the rank
#: summed from them (:func:`rank_of_columns`), the query coverage read from it where ``ts_rank > 0``
#: is ``@@``: written as one expression, every word cost a ``ts_rank`` and a ``@@`` per row.
RANK_ONCE = True


class Lexeme(str):
    """A query word that is already a lexeme (a typo's correction from ``search_terms``): it goes
    into the query as that lexeme, not through ``plainto_tsquery``.  ``typed`` is what was typed."""

    typed: str = ""

    @classmethod
    def of(cls, lexeme: str, typed: str) -> "Lexeme":
        out = cls(lexeme)
        out.typed = typed
        return out


class Built(NamedTuple):
    """A query's SQL: ``q`` (what ranks), ``sel`` (what selects), ``p`` (the title prefix or
    ``NULL``), ``rank`` (of the documents' column ``v``), ``params``; and, for the two-stage
    plan (``postgres_plan``), the selecting parts, whether they are AND-ed (every word common)
    and ``bound``, an upper bound of the documents ``sel`` matches (from the frequencies)."""

    q: str
    sel: str
    p: str
    rank: str
    params: dict
    selecting: list[str]
    all_of: bool
    bound: float
    #: (selecting part, its document count), for the two-stage plan's rare-word sets.
    counts: list[tuple[str, int]]
    #: The rank of the title alone (``title_stems``): how the plan orders its title candidates.
    title_rank: str
    #: Each word's tsquery, and whether it is one lexeme or lexemes OR-ed (:func:`_one_or`).
    parts: list[str]
    one_or: list[bool]


def _part(word: str, n: int) -> str:
    """The tsquery of one word.  A correction keeps the typed word beside it: the word may be in
    a document newer than the table of words (a new thread is found at once, as without typos)."""
    if isinstance(word, Lexeme):  # alphabetic (postgres_terms.correctable): no tsquery syntax
        return f"(plainto_tsquery('{CONFIG}', :t{n}) || CAST(:w{n} AS tsquery))"
    return f"plainto_tsquery('{CONFIG}', :w{n})"


def _one_or(word: str) -> bool:
    """Whether ``word``'s tsquery is one lexeme or lexemes OR-ed, so that a row holds it (``@@``)
    exactly when its ``ts_rank`` is above 0 (``calc_rank_or``: each lexeme found adds a positive
    weight; an AND of lexemes is ranked by those found, though ``@@`` needs them all).  ASCII
    letters are one token of the parser and one stem of the dictionary (it has no stop words);
    a correction is the typed word OR-ed with its lexeme."""
    if isinstance(word, Lexeme):
        return bool(_LETTERS.fullmatch(word) and _LETTERS.fullmatch(word.typed))
    return _LETTERS.fullmatch(word) is not None


def words(text_: str | None) -> list[str]:
    """The distinct words of a query, in order (each becomes one ``plainto_tsquery``)."""
    if not isinstance(text_, str):
        return []
    seen: dict[str, None] = {}
    for match in WORD_RE.finditer(text_[:querying.MAX_QUERY_CHARS]):
        word = match.group().lower()
        if len(seen) >= MAX_WORDS:
            break
        if normalize(word):  # the Whoosh analyzer's stop words (the index keeps every word)
            seen.setdefault(word, None)
    return list(seen)


def tsquery(words_: list[str], *, prefix: bool, df: Callable[[str], int] | None = None,
            common_df: float = float("inf"), documents_total: int | None = None,
            column: str = "vector", rows: Callable[[str], int] | None = None) -> Built | None:
    """SQL for (the OR of the words' stems: what ranks; what selects documents; the last word
    as a title-word prefix or ``NULL``; the rank of ``column``) and their parameters (``Built``).
    Words are parameters, never tsquery syntax.

    ``df`` (a word's count in its likeliest class) decides the IDF and which words are common;
    ``rows`` (the documents holding it anywhere, ``df`` when not given) the plan's bound.
    Common words (``df(word) > common_df``) rank but do not select, as Lucene's
    common-terms query and the Whoosh backend do; when every word is common, the
    three rarest must all be there.  Otherwise one "the"-like word would make
    PostgreSQL rank most of the table.
    """
    if not words_:
        return None
    parts, params = [], {}
    for n, word in enumerate(words_):
        params[f"w{n}"] = str(word)
        if isinstance(word, Lexeme):
            params[f"t{n}"] = word.typed
        parts.append(_part(word, n))
    select_sql = " || ".join(parts)
    # BM25-like: each word's ts_rank (field weights, frequency) times its IDF, summed; ts_rank
    # alone has no IDF, so "password" and "error" would weigh the same.
    total = max(documents_total or 0, 1)
    for n, word in enumerate(words_):
        count = df(word) if df is not None else 0
        params[f"idf{n}"] = math.log(1.0 + (total - count + 0.5) / (count + 0.5))
    rank_sql, title_rank = (f"({' + '.join(_ranks(parts, name))}){_coverage_sql(parts, name)}"
                            for name in (column, "title_stems"))
    selecting, all_of, bound, counted = list(parts), False, float("inf"), []
    if df is not None:
        counts = [df(word) for word in words_]
        held = [rows(word) for word in words_] if rows is not None else counts
        rare = [(part, n) for part, count, n in zip(parts, counts, held) if count <= common_df]
        bound, counted = sum(held), list(zip(parts, held))
        if rare and len(rare) < len(parts):
            selecting = [part for part, _n in rare]
            select_sql = " || ".join(selecting)
            bound, counted = sum(n for _part, n in rare), rare
        elif not rare:
            rarest = sorted(zip(counts, held, parts))[:3]
            selecting, all_of = [part for _count, _n, part in rarest], True
            bound = min(n for _count, n, _part in rarest)
            counted = [(part, n) for _count, n, part in rarest]
            select_sql = " && ".join(f"({part})" for part in selecting)
    last = _PREFIX_RE.sub("", getattr(words_[-1], "typed", "") or words_[-1])
    prefix_sql = "NULL::tsquery"
    if prefix and len(last) >= 3:
        params["prefix"] = last + ":*"
        prefix_sql = f"to_tsquery('{PREFIX_CONFIG}', :prefix)"
    return Built(" || ".join(parts), select_sql, prefix_sql, rank_sql, params, selecting, all_of, bound,
                 counted, title_rank, parts, [_one_or(word) for word in words_])


def rank_columns(built: Built, column: str) -> str:
    """``ts_rank(...) AS r0, ...``: each word's rank of ``column``, once per row, for
    :func:`rank_of_columns` in a query over the subquery selecting them (``OFFSET 0``: not
    flattened, or each reference would compute its ``ts_rank`` again)."""
    return ", ".join(f"{part} AS r{n}" for n, part in enumerate(_ranks(built.parts, column, idf=False)))


def rank_of_columns(built: Built, column: str) -> str:
    """``built.rank`` (or ``built.title_rank``: ``column`` ``title_stems``) from the columns of
    :func:`rank_columns`: the same terms in the same order, so the same value to the last bit."""
    terms = " + ".join(f":idf{n} * r{n}" for n in range(len(built.parts)))
    return f"({terms}){_coverage_sql(built.parts, column, built.one_or)}"


def _ranks(parts: list[str], column: str, idf: bool = True) -> list[str]:
    return [(f":idf{n} * " if idf else "") + f"{RANK_FUNCTION}('{RANK_WEIGHTS}', {column}, {part}, {RANK_NORMALIZATION})"
            for n, part in enumerate(parts)]


def _coverage_sql(parts: list[str], column: str = "vector", ranked: list[bool] | None = None) -> str:
    """`` * (IDF of the words the document holds / IDF of all the words) ^ power``: the Whoosh
    ranker's query coverage (``ranker.COVERAGE_POWER``), so that a document holding the whole
    described problem beats one whose title holds one rare word.  A stop word (an empty
    ``plainto_tsquery``) counts for neither side; '' for a one-word query or power 0.  ``ranked``:
    the words held when their column ``r{n}`` (:func:`rank_columns`) is above 0 (:func:`_one_or`)."""
    if len(parts) < 2 or not ranker.COVERAGE_POWER:
        return ""
    ranked = ranked or [False] * len(parts)
    held = " + ".join(f"CASE WHEN {f'r{n} > 0' if once else f'{column} @@ {part}'} THEN :idf{n} ELSE 0 END"
                      for n, (part, once) in enumerate(zip(parts, ranked)))
    whole = " + ".join(f"CASE WHEN numnode({part}) > 0 THEN :idf{n} ELSE 0 END" for n, part in enumerate(parts))
    return f" * power(({held}) / greatest({whole}, 1e-9), {float(ranker.COVERAGE_POWER)})"
