"""The thread page's "Related questions": other threads the search engine finds for this one.

From the same engine as the Ask page's suggestions (``community.search.related``), whose
per-process cache is keyed by the index generation: any write that re-indexes refreshes
it.  A search outage leaves the list empty (the page works without it), never an error.
Duplicates closed into this thread are left out (the banner on them already links here).

Clicks on them are recorded like opened suggestions (issue 16): each link goes through
``/threads/<id>/related/<target>``, which records one ``RelatedClick`` per visitor, thread and
target (:func:`record_click`; not for bots or prefetches) and redirects to the target's URL,
computed here (never read from the request).
"""
from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ... import search
from ...extensions import db
from ...models import DuplicateLink, RelatedClick, Thread, utcnow
from ..errors import NotFound

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


def click_target(thread_id: int, target_id: int) -> Thread:
    """The visible thread a related link leads to (404 when either thread is not visible)."""
    found = {t.id: t for t in db.session.execute(select(Thread).where(
        Thread.id.in_((thread_id, target_id)), Thread.visible)).scalars()}
    if thread_id == target_id or thread_id not in found or target_id not in found:
        raise NotFound("No such related question.")
    return found[target_id]


def record_click(thread_id: int, target: Thread, visitor_id: str | None, *, address_key: str | None = None,
                 cookie_kept: bool = False) -> bool:
    """Record that ``visitor_id`` followed the link from ``thread_id`` to ``target``, once per
    visitor (the unique key; clicks at once insert one row).  ``address_key`` and ``cookie_kept``
    (the request brought its visitor cookie) decide whether search may learn from it
    (``services/learning/clicks.py``).  Returns whether a row was added."""
    if not visitor_id:
        return False
    exists = select(RelatedClick.id).where(RelatedClick.thread_id == thread_id, RelatedClick.target_id == target.id,
                                           RelatedClick.visitor_id == visitor_id)
    if db.session.execute(exists).first() is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(RelatedClick(thread_id=thread_id, target_id=target.id, visitor_id=visitor_id,
                                        created_at=utcnow(), address_key=address_key, cookie_kept=cookie_kept))
        return True
    except IntegrityError:  # the same visitor's click at the same moment, in another request
        return False


def click_counts(thread_id: int) -> dict[int, int]:
    """``{target id: distinct visitors}`` who followed a related link from ``thread_id``."""
    return dict(db.session.execute(select(RelatedClick.target_id, func.count()).where(
        RelatedClick.thread_id == thread_id).group_by(RelatedClick.target_id)).all())
