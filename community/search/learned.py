"""The ``learned`` field: words that visitors typed and that led to a thread (issue 16).

Rows of ``search_evidence`` (one per distinct voter and thread, written by
``community.services.learning``) become the text of a separate index field whose
query-time boost is ``schema.FIELD_BOOSTS["learned"]``.  So that no voter and no
script can push a thread up by itself:

- each voter counts once per thread (the table's unique key);
- only the ``LEARN_CAP`` most recent votes of a thread are read;
- a visitor's vote decays with age: it is written ``round(LEARN_COPIES * 0.5 ** (age / half-life))``
  times (fresh: twice; after one half-life: once; after ~2.3 half-lives: not at all); a closed
  duplicate, an accepted answer linking to the thread, an idea linked to it (a person's
  judgment, not a click: ``JUDGMENT_SOURCES``) do not decay.

The field is rebuilt whenever the thread is re-indexed (``flask search learn`` re-indexes
every thread whose evidence changed, and so applies the decay).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import SearchEvidence, utcnow
from ..models.learning import JUDGMENT_SOURCES

#: Votes read per thread (the most recent ones).
LEARN_CAP = 10
#: Copies of a fresh vote's words in the field (term frequency is how BM25 hears "more").
LEARN_COPIES = 2
#: Fresh copies by source where it differs from ``LEARN_COPIES`` (measured with
#: ``bench/relevance.py --learn 0.5 --replay related``, docs/search.md).
SOURCE_COPIES: dict[str, int] = {"related": 1}
#: Age at which a vote's weight halves.
LEARN_HALF_LIFE_DAYS = 180.0


def copies(created_at: datetime, now: datetime, fresh: int | None = None) -> int:
    """How many times a vote made at ``created_at`` (``fresh`` copies when new, default
    ``LEARN_COPIES``) is written into the field at ``now``."""
    age_days = max((now - created_at).total_seconds(), 0.0) / 86400.0
    return int((LEARN_COPIES if fresh is None else fresh) * 0.5 ** (age_days / LEARN_HALF_LIFE_DAYS) + 0.5)


def learned_texts(session: Session, thread_ids: Iterable[int], now: datetime | None = None) -> dict[int, str]:
    """``{thread_id: text}`` of the learned field for ``thread_ids`` (one query)."""
    ids = list(thread_ids)
    if not ids:
        return {}
    now = now or utcnow()
    votes: dict[int, list[tuple[datetime, str, int]]] = defaultdict(list)
    for thread_id, words, created_at, source in session.execute(
            select(SearchEvidence.thread_id, SearchEvidence.words, SearchEvidence.created_at,
                   SearchEvidence.source)
            .where(SearchEvidence.thread_id.in_(ids))
            .order_by(SearchEvidence.thread_id, SearchEvidence.created_at.desc(), SearchEvidence.id.desc())):
        if len(votes[thread_id]) < LEARN_CAP:
            votes[thread_id].append((now if source in JUDGMENT_SOURCES else created_at, words,
                                     SOURCE_COPIES.get(source, LEARN_COPIES)))
    out = {}
    for thread_id, rows in votes.items():
        parts = [words for created_at, words, fresh in rows for _ in range(copies(created_at, now, fresh))]
        if parts:
            out[thread_id] = " . ".join(parts)
    return out
