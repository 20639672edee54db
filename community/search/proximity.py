"""Term proximity (issue 16): a suggestion whose title and question hold the query's words
close together ranks a little higher than one holding them scattered.

Both backends: the multiplier is ``1 + WEIGHT x (share of the query's stems that stand within
WINDOW words of another of them)``, over the title followed by the question.  The Whoosh
backend reads the positions from the stored title and question text of its few candidates
(``engine``); the PostgreSQL backend from the positions its rescoring window already has
(``postgres_rescore``, weight classes A and B).  Measured with bench/relevance.py
(docs/search.md): weight 0.2, window 4.
"""
from __future__ import annotations

from collections.abc import Iterable

from .analysis import WORD_RE, normalize, openings

WEIGHT = 0.4
WINDOW = 4
#: Characters of the question read for it (the stored text holds up to 3,000).
QUESTION_CHARS = 3000


def multiplier(positions: Iterable[tuple[int, str]], stems: Iterable[str]) -> float:
    """``positions``: ``(position, stem)`` of the query's stems in the text, any order."""
    wanted = set(stems)
    if not WEIGHT or len(wanted) < 2:
        return 1.0
    ordered = sorted(positions)
    near: set[str] = set()
    for (i, a), (j, b) in zip(ordered, ordered[1:]):
        if a != b and j - i <= WINDOW:
            near.update((a, b))
    return 1.0 + WEIGHT * len(near) / len(wanted)


def text_positions(title: str, question: str, stems: Iterable[str]) -> list[tuple[int, str]]:
    """``(position, stem)`` of ``stems`` in the title then the question, words counted as the
    analyzer splits them (stop words keep their place, as PostgreSQL's positions do)."""
    wanted = set(stems)
    opening = openings(wanted)
    out = []
    text = f"{title or ''} . {(question or '')[:QUESTION_CHARS]}"
    for position, word in enumerate(WORD_RE.findall(text)):
        # Most words cannot be a query stem and are not stemmed (``analysis.may_be_one_of``, inlined).
        head = word[:2]
        if opening is None or head.lower() in opening or not head.isascii():
            stem = normalize(word)
            if stem in wanted:
                out.append((position, stem))
    return out
