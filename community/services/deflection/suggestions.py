"""Search-before-you-post and deflection: the public face of the area.

Sessions and events live in ``deflection_sessions``, metrics in
``deflection_metrics``; this module re-exports them and adds the one thing pages
and the API share: fetching suggestions for what a visitor typed and recording
that they were shown.
"""
from __future__ import annotations

import logging

from ..errors import Unavailable
from .ask_sessions import (
    clean_query,
    record_suggestions_shown,
    result_key,
)

log = logging.getLogger(__name__)

MIN_QUERY_LENGTH = 3
TYPES_BY_PAGE = {"ask": ("thread", "article", "idea"), "contact": ("thread", "article")}


class SuggestionsUnavailable(Unavailable):
    """Search failed: there is no answer, which is not the same as "nothing matched".

    Metrics count an empty result as a search that found nothing, so a failure
    is never turned into ``[]`` and records no ``suggestions_shown`` event;
    pages that can work without suggestions catch it (see ``views/ask_flow``).
    """

    code = "search_unavailable"


def find_suggestions(query: str | None, *, types=("thread", "article", "idea"), limit: int = 5) -> list[dict]:
    """Up to ``limit`` suggestions for ``query``; too short a query gives nothing.

    Raises :class:`SuggestionsUnavailable` when search fails.
    """
    text = clean_query(query)
    if len(text) < MIN_QUERY_LENGTH:
        return []
    from ... import search

    try:
        return list(search.suggest(text, limit=limit, types=tuple(types)))[:limit]
    except search.SearchUnavailable as exc:
        log.warning("suggest failed for %r: %s", text[:80], exc)
        raise SuggestionsUnavailable("Suggestions are unavailable right now; try again shortly.") from exc


def suggestions_for_session(session, query: str | None, *, types=("thread", "article", "idea"),
                            limit: int = 5) -> tuple[list[dict], bool]:
    """Suggestions as this session may see them, recording what was shown.

    Returns ``(results, holdout)``.  Holdout sessions see none (and nothing is
    recorded: nothing was shown).  ``session`` may be ``None`` (bots, no session).
    A search failure raises :class:`SuggestionsUnavailable` and records nothing.
    """
    if session is not None and session.arm == "holdout":
        return [], True
    results = find_suggestions(query, types=types, limit=limit)
    if session is not None and len(clean_query(query)) >= MIN_QUERY_LENGTH:
        record_suggestions_shown(session.id, query, [result_key(r) for r in results])
    return results, False
