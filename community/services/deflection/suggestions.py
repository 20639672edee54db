"""Search-before-you-post and deflection: the public face of the area.

Sessions and events live in ``deflection_sessions``, metrics in
``deflection_metrics``; this module re-exports them and adds the one thing pages
and the API share: fetching suggestions for what a visitor typed and recording
that they were shown.
"""
from __future__ import annotations

import logging

from .ask_sessions import (
    clean_query,
    record_suggestions_shown,
    result_key,
)

log = logging.getLogger(__name__)

MIN_QUERY_LENGTH = 3
TYPES_BY_PAGE = {"ask": ("thread", "idea"), "contact": ("thread",)}


def find_suggestions(query: str | None, *, types=("thread", "idea"), limit: int = 5) -> list[dict]:
    """Up to ``limit`` suggestions for ``query``; never raises.

    Too short a query gives nothing.  Suggestions help a visitor but are not
    needed to post, so a search failure is logged and shows no suggestions
    rather than breaking the Ask or Contact page.
    """
    text = clean_query(query)
    if len(text) < MIN_QUERY_LENGTH:
        return []
    try:
        from ...search import suggest

        return list(suggest(text, limit=limit, types=tuple(types)))[:limit]
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("suggest failed for %r", text[:80])
        return []


def suggestions_for_session(session, query: str | None, *, types=("thread", "idea"),
                            limit: int = 5) -> tuple[list[dict], bool]:
    """Suggestions as this session may see them, recording what was shown.

    Returns ``(results, holdout)``.  Holdout sessions see none (and nothing is
    recorded: nothing was shown).  ``session`` may be ``None`` (bots, no session).
    """
    if session is not None and session.arm == "holdout":
        return [], True
    results = find_suggestions(query, types=types, limit=limit)
    if session is not None and len(clean_query(query)) >= MIN_QUERY_LENGTH:
        record_suggestions_shown(session.id, query, [result_key(r) for r in results])
    return results, False
