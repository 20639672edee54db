"""User text to a Whoosh query, built from analyzed terms (never Whoosh's query syntax).

Whatever people type (quotes, colons, brackets, wildcards, operators,
emoji, 10,000 characters) becomes a list of stems, so parsing cannot fail
and nobody can write a query that scans the whole lexicon.  Each stem is
looked up in every text field with that field's boost; documents that
contain more of the stems score higher, and the stems in order (a phrase)
in the title or question earn a bonus.
"""
from __future__ import annotations

from whoosh import query as Q

from .schema import ANALYZER, FIELD_BOOSTS, PHRASE_BOOSTS

#: Characters of the query looked at; the rest is ignored.
MAX_QUERY_CHARS = 1000
#: Distinct stems used (the first ones typed carry the subject).
MAX_TERMS = 24
#: Coordination bonus: documents matching more of the stems rank higher.
COORD_SCALE = 0.9


def analyze(text: str | None) -> list[str]:
    """The distinct stems of ``text``, in order of first appearance."""
    if not isinstance(text, str):
        return []
    text = text[:MAX_QUERY_CHARS]
    seen: dict[str, None] = {}
    try:
        for token in ANALYZER(text, mode="query"):
            if token.text and len(seen) < MAX_TERMS:
                seen.setdefault(token.text, None)
    except Exception:  # a pathological input must not break search
        return []
    return list(seen)


def build(terms: list[str], *, field_boosts: dict[str, float] | None = None,
          phrase_boosts: dict[str, float] | None = None, coord: float | None = COORD_SCALE):
    """The query for ``terms``, or ``None`` when there is nothing to look for."""
    if not terms:
        return None
    field_boosts = FIELD_BOOSTS if field_boosts is None else field_boosts
    phrase_boosts = PHRASE_BOOSTS if phrase_boosts is None else phrase_boosts
    groups = []
    for term in terms:
        per_field = [Q.Term(field, term, boost=boost) for field, boost in field_boosts.items()]
        groups.append(Q.Or(per_field))
    clauses = [Q.Or(groups, scale=coord) if coord and len(groups) > 1 else Q.Or(groups)]
    if len(terms) > 1:
        for field, boost in phrase_boosts.items():
            clauses.append(Q.Phrase(field, terms, slop=2, boost=boost))
    return Q.Or(clauses) if len(clauses) > 1 else clauses[0]
