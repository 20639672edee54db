"""Why a document was suggested: the (field, stem) pairs of the query that it contains.

Used only by ``GET /api/v1/suggest?explain=1`` for staff: the stems ``suggest`` looks up
(analyzed, pruned, typos corrected), checked in each weighted field's postings of the
given documents.
"""
from __future__ import annotations

from . import query as querying
from .schema import FIELD_BOOSTS


def matched_terms(state, text: str, keys: list[str]) -> dict[str, list[tuple[str, str]]]:
    """``{key: [(field, stem), ...]}`` for the documents ``keys`` and the query ``text``."""
    analyzed = querying.analyze(text)
    if not keys or not analyzed:
        return {}

    def work(searcher):
        terms = querying.prune(analyzed, searcher)
        reader = searcher.reader()
        out = {}
        for key in keys:
            docnum = searcher.document_number(key=key)
            if docnum is None:
                continue
            pairs = []
            for field, boost in FIELD_BOOSTS.items():
                for term in terms:
                    if boost and (field, term) in reader and _contains(reader, field, term, docnum):
                        pairs.append((field, term))
            out[key] = sorted(pairs)
        return out

    return state.reading(False, work)


def _contains(reader, field: str, term: str, docnum: int) -> bool:
    postings = reader.postings(field, term)
    postings.skip_to(docnum)
    return postings.is_active() and postings.id() == docnum
