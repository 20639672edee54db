"""BM25F for the PostgreSQL backend: the best candidates of the SQL rank scored again as the
Whoosh ranker scores them.

``ts_rank`` normalises by the length of the whole row (title and every answer alike), has no
IDF, saturates term frequency its own way and knows no phrase; the Whoosh ranker scores BM25
per field with the field's boost, times query coverage, plus a title phrase bonus.  That
difference cost the PostgreSQL backend 4.9 points of dev recall@5 (docs/search.md).  Here the
SQL rank only picks a window of candidates (:data:`WINDOW`, ordered by it); for those rows the
query words' positions and weight classes come out of the ``vector``
(its text output, read by :func:`hits`) and are scored in Python with :mod:`ranker`'s formula: a weight class is
a field (title A, question and tags B, accepted answer C, other answers, category and learned
evidence D), its length the bytes of its columns against the table's average.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import proximity, ranker
from .postgres_schema import TABLE
from .schema import FIELD_BOOSTS, PHRASE_BOOSTS

#: Candidates of the SQL rank scored again (suggestions).  50, was 100: dev recall@5 / @10 / MRR@10
#: 0.887 / 0.914 / 0.866 -> 0.887 / 0.911 / 0.865, dev2 unchanged (1.000 / 1.000 / 0.954); at
#: 100,000 threads the app's CPU per cold suggestion 16.0 -> 9.6 ms, 90.5 % of the top 5 kept
#: (same top 1 in 96 %), docs/search.md "Sixth round".  30, was 50: dev, dev2, dev3 unchanged to the
#: third digit (dev3 MRR@10 0.297 -> 0.298); at 100,000 threads 71 % of cold suggestions keep the same
#: top 5, and the app + database CPU per suggestion falls by 9 % (docs/search.md, "Twelfth round").
WINDOW = 30
#: Weight class -> (the Whoosh field whose boost it takes, the columns that make it up).
CLASSES = {
    "A": ("title", ("title",)),
    "B": ("question", ("tags", "question")),
    "C": ("accepted", ("accepted",)),
    "D": ("answers", ("answers", "category", "learned")),
}
#: Classes a common word is not scored in (the Whoosh ranker skips answers and category for it).
LONG_CLASSES = ("D",)
#: The length columns :func:`length_sql` selects.
LENGTHS = tuple(f"len_{name.lower()}" for name in CLASSES)


@dataclass(frozen=True)
class Word:
    """One query word as scored: its lexemes (a typo's correction and the typed word give two),
    its document frequency, and whether it is common (ranks, does not select)."""

    lexemes: tuple[str, ...]
    df: int
    common: bool = False


def length_sql(prefix: str = "") -> str:
    """The columns ``len_a`` ... ``len_d``: each class's length in bytes (``octet_length`` reads
    the stored size, it does not decompress)."""
    return ", ".join(
        " + ".join(f"octet_length({prefix}{column})" for column in columns) + f" AS len_{name.lower()}"
        for name, (_field, columns) in CLASSES.items())


def averages_sql() -> str:
    """The table's average length of each class (``{a, b, c, d}``)."""
    parts = ", ".join(
        "avg(" + " + ".join(f"octet_length({column})" for column in columns) + f") AS {name.lower()}"
        for name, (_field, columns) in CLASSES.items())
    return f"SELECT {parts} FROM {TABLE}"


def hits_sql(vector: str = "vector", lexemes: str = ":lexemes") -> str:
    """``vector_text``: the text of the row's vector kept to the query's ``lexemes`` (a
    ``text[]``), which :func:`hits` reads their positions and weights from.

    Kept to them by deleting every other lexeme (``ts_delete`` of the lexemes left once the
    query's are deleted): the whole vector's text was ~2 kB a row, 100 kB a suggestion sent and
    searched in Python (``hits``: 29 µs a row), for the few entries that are the query's; the two
    deletions cost the database about what the whole text's output did.

    Not ``unnest(vector)`` filtered by the lexemes: the set-returning function materialises every
    lexeme of the row (~150) with two arrays each before the filter, 0.48 ms a row at 100,000
    threads (48 ms for a window of 100)."""
    kept = f"ts_delete({vector}, tsvector_to_array(ts_delete({vector}, CAST({lexemes} AS text[]))))"
    return f"CAST({kept} AS text) AS vector_text"


def _quoted(lexeme: str) -> str:
    """A lexeme as ``tsvector``'s text output writes it (``tsvectorout``: ``'`` and ``\\`` doubled)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def needles(lexemes) -> list[tuple[str, str]]:
    """``(lexeme, its text as found in a vector's text)`` for :func:`hits`: made once per query."""
    return [(lexeme, " " + _quoted(lexeme)) for lexeme in lexemes]


def hits(vector_text: str | None, lexemes, found: list[tuple[str, str]] | None = None) -> list[list]:
    """``[[lexeme, positions, weights], ...]`` of ``lexemes`` in a ``tsvector``'s text
    (``'word':1A,5,7B 'other':3C``: weight D is written without a letter), the list
    ``unnest(vector)`` filtered by the lexemes gave.  Every entry is preceded by a space or
    starts the text, and a lexeme never holds a space, so `` 'word'`` finds it alone.
    ``found``: :func:`needles` of ``lexemes``, when the caller reads many rows."""
    if not vector_text:
        return []
    padded = " " + vector_text
    out = []
    for lexeme, needle in (found if found is not None else needles(lexemes)):
        at = padded.find(needle)
        while at >= 0 and padded[at + len(needle):at + len(needle) + 1] not in ("", ":", " "):
            at = padded.find(needle, at + 1)  # a longer lexeme beginning alike (only when quoted oddly)
        if at < 0:
            continue
        start = at + len(needle)
        positions, weights = [], []
        if padded[start:start + 1] == ":":
            end = padded.find(" ", start)
            for item in padded[start + 1:end if end >= 0 else None].split(","):
                last = item[-1]
                if last.isdigit():
                    positions.append(int(item))
                    weights.append("D")
                else:
                    positions.append(int(item[:-1]))
                    weights.append(last)
        out.append([lexeme, positions, weights])
    return out


def idf(df: int, total: int) -> float:
    """Whoosh's IDF (``WeightingModel.idf``), as the ranker's BM25 uses it."""
    return math.log(max(total, 1) / (df + 1)) + 1


def coverage_idf(df: int, total: int) -> float:
    """The IDF query coverage weighs words by (``ranker.Scored.coverage``)."""
    return math.log1p((total - df + 0.5) / (df + 0.5))


def score(row: dict, words: list[Word], total: int, averages: dict[str, float]) -> float:
    """The Whoosh ranker's score of one row (before the prior): BM25 per class and word times the
    class's boost, times query coverage, plus the title phrase bonus.  (Written for speed: it runs
    for each row of the window, 100 rows a suggestion; the per-word and per-class parts once.)"""
    found = row.get("hits")
    if not found:
        return 0.0
    by_lexeme = {lexeme: (positions or (), weights or ()) for lexeme, positions, weights in found}
    k1, b = ranker.K1, ranker.B
    classes = []  # (class, boost, BM25's length normalisation) of this row
    for name, (field, _columns) in CLASSES.items():
        length = float(row.get(f"len_{name.lower()}") or 0)
        classes.append((name, FIELD_BOOSTS.get(field, 0.0), k1 * ((1 - b) + b * length / (averages.get(name.lower()) or 1.0))))
    text_score = title_raw = 0.0
    held = whole = 0.0
    titles: list[list[int]] = []
    in_title = 0
    for word in words:
        weight = idf(word.df, total)
        forms = [by_lexeme[lexeme] for lexeme in word.lexemes if lexeme in by_lexeme]
        found_word = False
        title_positions: set[int] = set()
        if forms:
            for name, boost, norm in classes:
                if word.common and name in LONG_CLASSES:
                    continue
                tf = max(weights.count(name) for _positions, weights in forms)
                if not tf:
                    continue
                found_word = True
                raw = weight * (tf * (k1 + 1)) / (tf + norm)
                text_score += raw * boost
                if name == "A":
                    for positions, weights in forms:
                        title_positions.update(p for p, w in zip(positions, weights) if w == "A")
                    title_raw += raw
                    in_title += 1
        titles.append(sorted(title_positions))
        cover = coverage_idf(word.df, total)
        whole += cover
        held += cover if found_word else 0.0
    scale = (held / whole) ** ranker.COVERAGE_POWER if ranker.COVERAGE_POWER and len(words) > 1 and whole else 1.0
    final = text_score * scale
    boost = PHRASE_BOOSTS.get("title")
    if boost and len(words) > 1 and in_title == len(words) and ranker._in_order(titles):
        final += boost * title_raw * scale
    return final * proximity.multiplier(_title_question_positions(by_lexeme, words), range(len(words)))


def _title_question_positions(by_lexeme: dict, words: list[Word]) -> list[tuple[int, int]]:
    """``(position, word index)`` of the words in the title and question (classes A and B:
    the vector's positions run on from the title into the tags and question)."""
    out = []
    for index, word in enumerate(words):
        for lexeme in word.lexemes:
            positions, weights = by_lexeme.get(lexeme, ((), ()))
            out += [(p, index) for p, w in zip(positions, weights) if w in ("A", "B")]
    return out
