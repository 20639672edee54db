"""The thread page's "Related questions": other threads the search engine finds for this one.

From the same engine as the Ask page's suggestions (``community.search.related``), whose
per-process cache is keyed by the index generation: any write that re-indexes refreshes
it.  A search outage leaves the list empty (the page works without it), never an error.
Duplicates closed into this thread are left out (the banner on them already links here).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from ... import search
from ...extensions import db
from ...models import DuplicateLink, Thread

log = logging.getLogger(__name__)
RELATED_LIMIT = 5


def related_threads(thread: Thread, *, limit: int = RELATED_LIMIT) -> list[dict]:
    """``[{"id", "title", "url", "solved"}]`` of up to ``limit`` related visible threads."""
    try:
        hits = search.related(thread.id, thread.title, [t.name for t in thread.tags], limit=limit + 3)
    except search.SearchUnavailable:
        log.warning("Related questions unavailable for thread %s (search is down).", thread.id)
        return []
    closed_here = set(db.session.execute(select(DuplicateLink.thread_id).where(
        DuplicateLink.original_id == thread.id)).scalars())
    return [{"id": h["id"], "title": h["title"], "url": h["url"], "solved": h["solved"]}
            for h in hits if h["id"] not in closed_here][:limit]
