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
from whoosh.reading import SegmentReader

from .postings import doc_frequency, segment_columns
from .schema import ANALYZER, FIELD_BOOSTS, PHRASE_BOOSTS

#: Characters of the query looked at; the rest is ignored.
MAX_QUERY_CHARS = 1000
#: Distinct stems used (the first ones typed carry the subject).
MAX_TERMS = 24
#: Coordination bonus (Whoosh's ``Or(scale=)``): off, because it counts the
#: matching terms of every candidate (slow) and did not improve bench/relevance.py.
COORD_SCALE = 0.0
#: Stems looked up per query after pruning (the rarest ones, which carry the meaning).
MAX_QUERY_TERMS = 6
#: A stem in more than this share of documents ranks nothing ("question",
#: "work") and costs a scan of most of the index: dropped when rarer stems remain...
MAX_DF_RATIO = 0.5
#: ... and in more than this many documents: on a small site, where a few threads share
#: most words, every word still tells them apart (and costs nothing).
NEAR_UNIVERSAL_MIN_DF = 200
#: Stems in more than this share of documents are "common": they add to the
#: score of documents found by the rarer stems but do not find documents by
#: themselves (Lucene's common-terms query), which keeps a query from scoring
#: most of the index because it contains "use" or "account".
COMMON_RATIO = 0.02
#: ... and in more than this many documents (a small site has no common stems).
COMMON_MIN_DF = 200
#: Correct a word the index does not know to one at one edit (typos), if any.
TYPO_FIX = True
#: Fields that add to the score of documents found by the others but find none by themselves
#: (:func:`build_two_stage`).
SCORE_ONLY_FIELDS = ("category",)
#: Fields with the longest posting lists: common stems are not looked up there (:func:`build`).
LONG_FIELDS = ("answers", "category")
#: Fields whose document frequency decides a stem's rarity.
DF_FIELDS = ("title", "question", "accepted", "answers")
#: ... and the fields that make a stem "known" (a word only visitors used still finds its thread).
KNOWN_FIELDS = DF_FIELDS + ("learned",)


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


def prune(terms: list[str], searcher, *, max_terms: int | None = None,
          max_df_ratio: float | None = None) -> list[str]:
    """The terms worth looking up: known to the index, not near-universal, the rarest few.

    Keeps the typed order (phrases need it).  This is plain IDF reasoning, the
    same for every query, and it bounds the work per query as the index grows.
    """
    if not terms:
        return []
    max_terms = MAX_QUERY_TERMS if max_terms is None else max_terms
    max_df_ratio = MAX_DF_RATIO if max_df_ratio is None else max_df_ratio
    total = max(searcher.doc_count_all(), 1)
    reader = searcher.reader()
    df = {t: max(doc_frequency(reader, f, t) for f in KNOWN_FIELDS) for t in terms}
    if TYPO_FIX:
        terms = [_correct(t, reader, df) if df[t] == 0 else t for t in terms]
    known = [t for t in dict.fromkeys(terms) if df.get(t, 0) > 0]
    if not known:
        return []
    ceiling = df_limit(max_df_ratio, NEAR_UNIVERSAL_MIN_DF, total, searcher.doc_count())
    useful = [t for t in known if df[t] <= ceiling] or known
    keep = set(sorted(useful, key=lambda t: df[t])[:max_terms])
    return [t for t in useful if t in keep]


def df_limit(ratio: float, minimum: int, total: int, live: int | None = None) -> float:
    """The document frequency above which a stem is near-universal or common: more than
    ``ratio`` of the documents and more than ``minimum`` of them.

    ``total`` is the count the frequencies are of; ``live`` the documents that can be found,
    when fewer.  Whoosh keeps a re-indexed document's old copy, deleted, in its segment until a
    merge and counts it in ``total`` and in every frequency (``doc_count_all``, ``doc_frequency``):
    after every thread of a site was re-indexed once, each count is double.  The share
    ``ratio`` is the same either way; the absolute ``minimum`` is scaled to the counts
    (``minimum * total / live``, the live frequency estimated as ``df * live / total``), or
    re-indexing alone would make rare stems common and cost recall (dev recall@5 0.891 ->
    0.860 after one re-index of every thread, docs/search.md "Thirteenth round (issue 16)")."""
    scale = total / live if live and live < total else 1.0
    return max(ratio * total, minimum * scale)


def split_common(terms: list[str], searcher, *, ratio: float | None = None) -> tuple[list[str], list[str]]:
    """``(rare, common)``: common stems score but do not select documents.

    When every stem is common, the three rarest must all be present instead.
    """
    ratio = COMMON_RATIO if ratio is None else ratio
    if not terms:
        return [], []
    total = max(searcher.doc_count_all(), 1)
    reader = searcher.reader()
    df = {t: max(doc_frequency(reader, f, t) for f in DF_FIELDS) for t in terms}
    limit = df_limit(ratio, COMMON_MIN_DF, total, searcher.doc_count())
    rare = [t for t in terms if df[t] <= limit]
    common = sorted((t for t in terms if t not in rare), key=lambda t: df[t])
    return rare, common


#: The fields whose terms an unknown word may be corrected to (their term sets are read once
#: per process and segment: ``postings.SegmentColumns.words``).
TYPO_FIELDS = ("title", "question")


def _correct(term: str, reader, df: dict[str, int]) -> str:
    """A stem the index knows at one edit from an unknown one ("pasword" -> "password"), else itself."""
    if len(term) < 5 or not term.isalpha():
        return term
    best, best_df = term, 0
    for field in TYPO_FIELDS:
        for candidate in sorted(one_edit_terms(reader, field, term)):
            count = max(doc_frequency(reader, f, candidate) for f in DF_FIELDS)
            if count > best_df:
                best, best_df = candidate, count
    df[best] = best_df
    return best


#: The characters of analyzed terms (``analysis.WORD_RE``, lower-cased) an edit may bring in.
EDIT_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_.'’"


def one_edit_terms(reader, field: str, term: str) -> set[str]:
    """The terms of ``field`` one insertion, deletion, substitution or swap of neighbours
    from ``term``, its first letter kept, found by looking each such string up in the
    segments' term sets (``postings.SegmentColumns.words``).

    The same set as Whoosh's ``terms_within(field, term, 1, prefix=1)`` on an index of
    several segments (Damerau-Levenshtein; on one segment Whoosh's automaton leaves swaps
    out, so "pritner" found "printer" only once a site had several segments), without its
    cost: 85 ms a word and field at 100,000 threads.  A word with other letters than
    ``EDIT_ALPHABET`` goes to Whoosh's own search."""
    if not term.isascii():
        return set(reader.terms_within(field, term, 1, prefix=1)) - {term}
    variants = one_edit_strings(term, EDIT_ALPHABET)
    out = set()
    for leaf, _offset in reader.leaf_readers():
        if not isinstance(leaf, SegmentReader):
            continue  # an empty index (EmptyReader) has no terms
        words = segment_columns(leaf).words(field)
        out.update(v for v in variants if v in words)
    return out


def one_edit_strings(term: str, alphabet: str) -> set[str]:
    """Every string one insertion, deletion, substitution (of a character of ``alphabet``) or
    swap of neighbours from ``term``, its first letter kept (an edit of the first letter that
    keeps it is the same string as one after it)."""
    variants = set()
    for i in range(1, len(term) + 1):
        before, after = term[:i], term[i:]
        variants.update(before + c + after for c in alphabet)  # insertions
        if after:
            variants.add(before + after[1:])  # deletion
            variants.update(before + c + after[1:] for c in alphabet)  # substitutions
        if len(after) > 1:
            variants.add(before + after[1] + after[0] + after[2:])  # neighbours swapped
    variants.discard(term)
    return variants


def build(terms: list[str], *, field_boosts: dict[str, float] | None = None,
          phrase_boosts: dict[str, float] | None = None, coord: float | None = None,
          common: list[str] | None = None):
    """The query for ``terms``, or ``None`` when there is nothing to look for.

    With ``common`` (a subset of ``terms``, see :func:`split_common`), documents
    are selected by the other stems and the common ones only add to their score.
    """
    if not terms:
        return None
    common = [t for t in (common or []) if t in terms]
    if common:
        rare = [t for t in terms if t not in common]
        # A common stem's lists are longest in the long fields (other answers, the category),
        # where it adds least: it is looked up in the others only.
        short = {f: b for f, b in (FIELD_BOOSTS if field_boosts is None else field_boosts).items()
                 if f not in LONG_FIELDS}
        if rare:
            required = build(rare, field_boosts=field_boosts, phrase_boosts={}, coord=coord)
            rest = common
        else:  # every stem is common: the three rarest (first in ``common``) must all be there
            musts = [build([t], field_boosts=short, phrase_boosts={}) for t in common[:3]]
            required = Q.And(musts) if len(musts) > 1 else musts[0]
            rest = common[3:]  # the required ones already score: never walk their lists twice
        optional = [build(rest, field_boosts=short, phrase_boosts={}, coord=coord)] if rest else []
        optional += _phrases(terms, phrase_boosts)
        if not optional:
            return required
        return Q.AndMaybe(required, _or(optional) if len(optional) > 1 else optional[0])
    field_boosts = FIELD_BOOSTS if field_boosts is None else field_boosts
    phrase_boosts = PHRASE_BOOSTS if phrase_boosts is None else phrase_boosts
    coord = COORD_SCALE if coord is None else coord
    groups = []
    for term in terms:
        groups.append(_or([Q.Term(field, term, boost=boost) for field, boost in field_boosts.items() if boost]))
    clauses = [_or(groups, scale=coord or None)] + _phrases(terms, phrase_boosts)
    return _or(clauses) if len(clauses) > 1 else clauses[0]


def build_two_stage(terms: list[str], *, common: list[str] | None = None,
                    score_only: tuple[str, ...] | None = None):
    """:func:`build` in two stages: the fields in ``score_only`` (the category name: a
    long posting list that never decides a match) do not select documents; they add
    their score to the documents the other fields selected (``AndMaybe``, which skips
    along their lists block by block instead of walking them), for the rare stems only."""
    score_only = SCORE_ONLY_FIELDS if score_only is None else score_only
    selecting = {f: b for f, b in FIELD_BOOSTS.items() if f not in score_only}
    extra = {f: b for f, b in FIELD_BOOSTS.items() if f in score_only and b}
    base = build(terms, field_boosts=selecting, common=common)
    if base is None or not extra:
        return base
    scoring = [t for t in terms if t not in set(common or ())] or list(common or ())[:3]
    return Q.AndMaybe(base, build(scoring, field_boosts=extra, phrase_boosts={}))


def _phrases(terms: list[str], phrase_boosts: dict[str, float] | None) -> list:
    phrase_boosts = PHRASE_BOOSTS if phrase_boosts is None else phrase_boosts
    if len(terms) < 2:
        return []
    return [Q.Phrase(field, terms, slop=2, boost=boost) for field, boost in phrase_boosts.items() if boost]


def _or(subqueries, scale=None):
    """A union matcher tree whatever the index size (Whoosh's pre-loading
    matcher for small indexes is slower and would make small and big sites differ)."""
    query = Q.Or(subqueries, scale=scale)
    query.matcher_type = Q.Or.DEFAULT_MATCHER
    return query
