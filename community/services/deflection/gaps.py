"""Content gaps: what visitors searched for that the community's answers did not cover."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import AskEvent, AskSession

#: Longest query shown on the page; the full text stays in the API and the CSV.
DISPLAY_MAX = 120


def content_gaps(low: datetime, high: datetime, *, limit: int = 20, exclude=frozenset()) -> list[dict]:
    """Queries whose suggestions did not help: no result, or none of them opened.

    Per session, a query that a later query of the same session extends (typing
    "reset pass" then "reset password") is dropped as a prefix.  A (session, query)
    is a gap when it showed nothing or the session opened none of its results.
    Grouped by normalized query and ranked by the number of sessions with a gap.
    """
    in_range = (AskSession.started_at >= low, AskSession.started_at < high)
    shown = db.session.execute(
        select(AskEvent.session_id, AskEvent.id, AskEvent.query, AskEvent.normalized_query,
               AskEvent.result_ids, AskEvent.result_count, AskEvent.created_at)
        .join(AskSession, AskSession.id == AskEvent.session_id)
        .where(*in_range, AskEvent.kind == "suggestions_shown").order_by(AskEvent.id)
    ).all()
    if not shown:
        return []
    opened = defaultdict(set)
    for row in db.session.execute(
        select(AskEvent.session_id, AskEvent.thread_id, AskEvent.idea_id)
        .join(AskSession, AskSession.id == AskEvent.session_id)
        .where(*in_range, AskEvent.kind == "suggestion_opened")
    ):
        if row.thread_id:
            opened[row.session_id].add(f"thread:{row.thread_id}")
        if row.idea_id:
            opened[row.session_id].add(f"idea:{row.idea_id}")
    by_session = defaultdict(list)
    for row in shown:
        if row.normalized_query and row.session_id not in exclude:
            by_session[row.session_id].append(row)
    groups: dict[str, dict] = {}
    for session_id, rows in by_session.items():
        for i, row in enumerate(rows):
            key = row.normalized_query
            if any(later.normalized_query != key and later.normalized_query.startswith(key)
                   for later in rows[i + 1:]):
                continue
            helped = (row.result_count or 0) > 0 and bool(set(row.result_ids or []) & opened[session_id])
            group = groups.setdefault(key, {"query": row.query or key, "searches": 0, "gaps": 0,
                                            "zero_results": 0, "last_seen": row.created_at})
            group["searches"] += 1
            group["gaps"] += not helped
            group["zero_results"] += not (row.result_count or 0)
            if row.created_at >= group["last_seen"]:
                group["last_seen"], group["query"] = row.created_at, row.query or key
    ranked = sorted((g for g in groups.values() if g["gaps"]),
                    key=lambda g: (-g["gaps"], -g["zero_results"], g["query"]))[:limit]
    return [{**g, "last_seen": g["last_seen"].replace(microsecond=0).isoformat() + "Z",
             "display_query": shorten(g["query"])} for g in ranked]


def shorten(text: str) -> str:
    """At most ``DISPLAY_MAX`` characters, with an ellipsis when cut."""
    return text if len(text) <= DISPLAY_MAX else text[:DISPLAY_MAX - 1].rstrip() + "…"
