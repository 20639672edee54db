"""The suggest/search ranking, computed a whole posting list at a time with numpy.

The ranking is the one :func:`community.search.query.build_two_stage` writes as a
Whoosh query (and the tests hold the two to the same documents and scores):
BM25F per (field, stem) times the field's boost, summed; the stems in order in
the title earn a phrase bonus; common stems only add to documents the rarer
ones found (or, when every stem is common, the three rarest must all be there);
the category only adds to documents found by other fields.

Whoosh evaluates that query posting by posting through a tree of matchers, in
Python: ~90% of a cold suggestion at 20,000 threads.  Here each (field, stem) list
is read as arrays (:mod:`community.search.postings`) and scored in one vectorised
step into a score per document; the phrase bonus is checked, from title positions,
only for documents that could still enter the top N (branch and bound).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import log

import numpy as np

from .postings import SearcherArrays, doc_frequency
from .query import DF_FIELDS, LONG_FIELDS, SCORE_ONLY_FIELDS
from .schema import FIELD_BOOSTS, PHRASE_BOOSTS

#: BM25 parameters (``whoosh_index.weighting`` gives Whoosh's own scorer the same).  Whoosh's
#: defaults were K1 1.2, B 0.75; a stronger length normalisation and a later saturation rank
#: better on both dev sets (bench/relevance.py, docs/search.md: dev R@5/R@10/MRR@10
#: 0.883/0.910/0.857 -> 0.887/0.909/0.864, dev2 0.983/1.000/0.917 -> 0.992/1.000/0.928).
K1 = 1.6
B = 0.9
#: The phrase: consecutive stems at most this many positions apart (``Phrase(slop=2)``).
PHRASE_SLOP = 2
#: Documents whose phrase is checked per round of the branch and bound.
PHRASE_CHUNK = 64
#: Query coverage: a document's score is multiplied by (share of the query's IDF mass it
#: holds, in any field) ** this.  A document with every word of a described problem beats
#: one whose title holds one rare word (bench/relevance.py, docs/search.md: dev2 R@5 0.892 ->
#: 0.983, MRR 0.755 -> 0.917; dev 0.889 -> 0.883, MRR 0.857 unchanged).  0 turns it off.
COVERAGE_POWER = 0.5


@dataclass(frozen=True)
class Leaf:
    field: str
    term: str
    boost: float


@dataclass
class Plan:
    """Which (field, stem) lists select documents and which only add to their score."""

    #: A document holding any of these is a candidate.
    select: list[Leaf] = field(default_factory=list)
    #: ... or, when every stem is common: a document must hold each group (any field of it).
    require: list[list[Leaf]] = field(default_factory=list)
    #: Added to the score of candidates only.
    extra: list[Leaf] = field(default_factory=list)
    #: Stems whose in-order title match earns the phrase bonus.
    phrase: list[str] = field(default_factory=list)


def plan(terms: list[str], common: list[str] | None = None) -> Plan | None:
    """The plan for pruned ``terms`` with the ``common`` ones (``query.split_common``)."""
    if not terms:
        return None
    common = [t for t in (common or []) if t in terms]
    rare = [t for t in terms if t not in common]
    selecting = {f: b for f, b in FIELD_BOOSTS.items() if f not in SCORE_ONLY_FIELDS and b}
    short = {f: b for f, b in selecting.items() if f not in LONG_FIELDS}
    score_only = {f: b for f, b in FIELD_BOOSTS.items() if f in SCORE_ONLY_FIELDS and b}
    out = Plan(phrase=list(terms) if len(terms) > 1 and PHRASE_BOOSTS.get("title") else [])
    if rare:
        out.select = _leaves(rare, selecting)
        out.extra = _leaves(common, short) + _leaves(rare, score_only)
    else:  # every stem is common: the three rarest (first in ``common``) must all be there
        out.require = [_leaves([t], short) for t in common[:3]]
        out.extra = _leaves(common[3:], short) + _leaves(common[:3], score_only)
    return out


def _leaves(terms: list[str], boosts: dict[str, float]) -> list[Leaf]:
    return [Leaf(f, t, b) for t in terms for f, b in boosts.items()]


class Scored:
    """Every document's score for a plan (dense arrays over the searcher's docnums)."""

    def __init__(self, query_plan: Plan, arrays: SearcherArrays):
        self.plan = query_plan
        self.arrays = arrays
        size = arrays.doccount
        self.score = np.zeros(size)
        #: Sum of the unboosted title scores of the phrase's stems, and how many are in the title.
        self.title = np.zeros(size)
        self.title_count = np.zeros(size, dtype=np.int8)
        #: Per document, bit i set when it holds the plan's i-th stem in any field (:meth:`coverage`).
        self.stems = list(dict.fromkeys(leaf.term for leaf in (*query_plan.select, *query_plan.extra,
                                                               *(l for group in query_plan.require for l in group))))
        self.held = np.zeros(size, dtype=np.int32) if COVERAGE_POWER and 1 < len(self.stems) <= 31 else None
        selected = None
        if query_plan.select:
            selected = np.zeros(size, dtype=bool)
            for leaf in query_plan.select:
                selected[self._add(leaf)] = True
        for group in query_plan.require:  # rarest first: each later one is read where the others are
            found = np.zeros(size, dtype=bool)
            within = None if selected is None else selected & arrays.live()
            for leaf in group:
                found[self._add(leaf, within)] = True
            selected = found if selected is None else selected & found
        self.selected = (np.zeros(size, dtype=bool) if selected is None else selected) & arrays.live()
        for leaf in query_plan.extra:  # only the candidates' postings: blocks without any are skipped
            self._add(leaf, self.selected)

    def _add(self, leaf: Leaf, within: np.ndarray | None = None) -> np.ndarray:
        """Add one list's BM25 scores (of the documents in the mask ``within``); returns its docnums."""
        ids, weights = self.arrays.postings(leaf.field, leaf.term, within)
        if not len(ids):
            return ids
        searcher = self.arrays.searcher
        idf = self._idf(leaf.field, leaf.term)
        avg = searcher.avg_field_length(leaf.field) or 1
        lengths = self.arrays.lengths(leaf.field)[ids]
        raw = idf * (weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths / avg))
        self.score[ids] += raw * leaf.boost
        if self.held is not None:
            self.held[ids] |= 1 << self.stems.index(leaf.term)
        if leaf.field == "title" and leaf.term in self.plan.phrase:
            self.title[ids] += raw
            self.title_count[ids] += 1
        return ids

    def _idf(self, field: str, term: str) -> float:
        """``searcher.idf``: Whoosh's ``log(N / (df + 1)) + 1``, over the searcher's every segment
        (from the kept term infos; Whoosh asked its term index again)."""
        searcher = self.arrays.searcher
        cache = searcher._idf_cache
        found = cache.get((field, term))
        if found is None:
            parent = searcher.get_parent()
            found = cache[(field, term)] = log(parent.doc_count_all() / (doc_frequency(parent.reader(), field, term) + 1)) + 1
        return found

    def coverage(self, docs: np.ndarray) -> np.ndarray | float:
        """For ``docs``, (IDF of the query's stems each holds / IDF of all of them) ** the power:
        the multiplier that makes matching more of the query count (1.0 when off).

        Plain BM25 over title + body gets this from one field holding every word; the
        boosted per-field sum lets a title with one rare word outrank a question that holds
        the whole description.  Stems of the plan that no document holds still count."""
        if self.held is None or not COVERAGE_POWER:
            return 1.0
        reader = self.arrays.searcher.reader()
        total = max(self.arrays.searcher.doc_count_all(), 1)
        bits = self.held[docs]
        held, whole = np.zeros(len(docs)), 0.0
        for i, term in enumerate(self.stems):
            df = max(doc_frequency(reader, f, term) for f in DF_FIELDS)
            weight = float(np.log1p((total - df + 0.5) / (df + 0.5)))
            held += weight * ((bits >> i) & 1)
            whole += weight
        return (held / whole) ** COVERAGE_POWER

    def candidates(self, allow: np.ndarray | None = None) -> np.ndarray:
        """Docnums of the matching documents (within ``allow``, a mask, when given)."""
        mask = self.selected if allow is None else self.selected & allow
        return np.flatnonzero(mask)

    def top(self, limit: int, allow: np.ndarray | None = None,
            multiplier: np.ndarray | None = None, coverage: bool = False) -> list[tuple[int, float]]:
        """The best ``limit`` ``(docnum, score)``, score descending, then docnum ascending.

        ``multiplier`` (per document) scales the final score (the priors of the search page),
        and so does :meth:`coverage` when ``coverage`` (off: the score of the Whoosh query).
        """
        docs = self.candidates(allow)
        if not len(docs) or limit <= 0:
            return []
        scale = multiplier[docs] if multiplier is not None else 1.0
        if coverage:
            scale = scale * self.coverage(docs)
        final = self.score[docs] * scale
        if self.plan.phrase:
            final = self._with_phrases(docs, final, scale, limit)
        order = np.lexsort((docs, -final))[:limit]
        return list(zip(docs[order].tolist(), final[order].tolist()))

    def ordered(self, limit: int, key: np.ndarray, allow: np.ndarray | None = None,
                multiplier: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The first ``limit`` ``(docnum, score)`` by ``key`` (per document) descending, ties by
        score (as :meth:`top` without the phrase bonus), then docnum: the search page's "newest",
        "active" and "votes" orders, over every match, not only the best ones."""
        docs = self.candidates(allow)
        if not len(docs) or limit <= 0:
            return []
        scale = (multiplier[docs] if multiplier is not None else 1.0) * self.coverage(docs)
        final = self.score[docs] * scale
        order = np.lexsort((docs, -final, -key[docs].astype(np.int64)))[:limit]
        return list(zip(docs[order].tolist(), final[order].tolist()))

    def _with_phrases(self, docs, final, scale, limit) -> np.ndarray:
        """Add the phrase bonus where the title holds the stems in order, for every document
        that could still reach the top ``limit`` with it (the rest cannot: their best
        possible score is below the ``limit``-th score already known)."""
        boost = PHRASE_BOOSTS["title"]
        maybe = np.flatnonzero(self.title_count[docs] == len(self.plan.phrase))
        if not len(maybe):
            return final
        final = final.copy()
        bonus = boost * self.title[docs[maybe]] * (scale[maybe] if np.ndim(scale) else scale)
        order = maybe[np.argsort(-(final[maybe] + bonus), kind="stable")]
        bonus_of = dict(zip(maybe.tolist(), bonus.tolist()))
        for start in range(0, len(order), PHRASE_CHUNK):
            if start:
                kth = _kth_largest(final, limit)
                best_left = final[order[start]] + bonus_of[int(order[start])]
                if kth is not None and best_left < kth:
                    break
            chunk = order[start:start + PHRASE_CHUNK]
            for index in self._phrase_matches(docs, chunk):
                final[index] += bonus_of[index]
        return final

    def _phrase_matches(self, docs: np.ndarray, chunk: np.ndarray) -> list[int]:
        """The indexes in ``chunk`` (into ``docs``) whose title holds the phrase."""
        wanted = np.sort(docs[chunk])
        positions = [self.arrays.positions("title", term, wanted) for term in self.plan.phrase]
        by_doc = dict(zip(docs[chunk].tolist(), chunk.tolist()))
        return [by_doc[doc] for doc in wanted.tolist()
                if _in_order([p.get(doc, ()) for p in positions])]


def _kth_largest(values: np.ndarray, k: int) -> float | None:
    if len(values) < k:
        return None
    return float(np.partition(values, len(values) - k)[len(values) - k])


def _in_order(positions: list) -> bool:
    """Whether positions chain in order, each step 1..``PHRASE_SLOP`` (Whoosh's ordered SpanNear)."""
    reach = set(positions[0])
    for nxt in positions[1:]:
        reach = {p for p in nxt if any(p - d in reach for d in range(1, PHRASE_SLOP + 1))}
        if not reach:
            return False
    return bool(reach)
