"""``explain=1`` on the suggest API (staff only): why each thread was suggested.

For each result: the query's stems it matched and in which field, with that field's
weight, and the learned evidence behind its ``learned`` field (votes by source, the
votes read under the cap, the most recent words, the field's weight).
"""
from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select

from ... import search
from ...extensions import db
from ...models import SearchEvidence
from ...search import learned, schema

RECENT_WORDS = 5


def explain(query: str, results: list[dict]) -> list[dict]:
    """One explanation per result (same order): ``{"matched": [...], "learned": {...} | None}``."""
    keys = [f"{r['type']}:{r['id']}" for r in results]
    matched = search.explain(query, keys)
    thread_ids = [r["id"] for r in results if r["type"] == "thread"]
    votes = defaultdict(list)
    if thread_ids:
        for thread_id, source, words, created_at in db.session.execute(
                select(SearchEvidence.thread_id, SearchEvidence.source, SearchEvidence.words,
                       SearchEvidence.created_at).where(SearchEvidence.thread_id.in_(thread_ids))
                .order_by(SearchEvidence.created_at.desc(), SearchEvidence.id.desc())):
            votes[thread_id].append((source, words))
    out = []
    for result, key in zip(results, keys):
        rows = votes.get(result["id"]) if result["type"] == "thread" else None
        out.append({
            "matched": [{"field": field, "term": term, "weight": schema.FIELD_BOOSTS.get(field, 0.0)}
                        for field, term in matched.get(key, [])],
            "learned": {
                "votes": len(rows), "counted": min(len(rows), learned.LEARN_CAP),
                "by_source": dict(Counter(source for source, _ in rows)),
                "recent_words": [words for _, words in rows[:RECENT_WORDS]],
                "weight": schema.FIELD_BOOSTS["learned"],
            } if rows else None,
        })
    return out
