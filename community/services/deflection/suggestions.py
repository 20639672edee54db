"""Fetching suggestions for what a visitor typed and recording that they were shown.

The one thing the pages (``/ask?title=``, the no-JavaScript preview) and the suggest
API share, under one rate limit (``SUGGEST_RATE_LIMIT`` per address): a page cannot be
used to record suggestions the API would refuse.
"""
from __future__ import annotations

import logging

from flask import request

from ...ratelimit import hit
from ..errors import RateLimited, Unavailable
from . import guards
from .ask_sessions import (
    QUERY_MAX,
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
        reason = str(exc) if isinstance(exc, search.SearchRebuilding) else "Suggestions are unavailable right now; try again shortly."
        raise SuggestionsUnavailable(reason) from exc


def suggestions_for_session(session, query: str | None, *, types=("thread", "article", "idea"),
                            limit: int = 5) -> tuple[list[dict], bool]:
    """Suggestions as this session may see them, recording what was shown.

    Returns ``(results, holdout)``.  Holdout sessions see none (and nothing is
    recorded: nothing was shown).  A query longer than any form field accepts
    (``QUERY_MAX``) is answered but not recorded: content gaps hold only what a
    visitor could submit.  ``session`` may be ``None`` (bots, no session).
    A search failure raises :class:`SuggestionsUnavailable` and records nothing.
    """
    if session is not None and session.arm == "holdout":
        return [], True
    results = find_suggestions(query, types=types, limit=limit)
    if session is not None and MIN_QUERY_LENGTH <= len(" ".join((query or "").split())) <= QUERY_MAX:
        record_suggestions_shown(session.id, query, [result_key(r) for r in results])
    return results, False


def check_limit() -> None:
    """One hit on the suggest limit of this address (the API's key); ``Refused`` beyond it."""
    try:
        hit("SUGGEST_RATE_LIMIT", key=f"ip:{request.remote_addr}")
    except RateLimited as exc:
        raise guards.Refused(exc.message, "suggest_limit") from None


def page_suggestions(session, query: str | None, *, types=("thread", "idea"),
                     limit: int = 5) -> tuple[list[dict], bool]:
    """``suggestions_for_session`` for a page: beyond the suggest limit, nothing is shown
    or recorded, and the refusal is counted (the page itself still works)."""
    if session is not None and session.arm == "holdout":
        return [], True
    try:
        check_limit()
        return suggestions_for_session(session, query, types=types, limit=limit)
    except guards.Refused as exc:
        guards.count_refusal(exc.reason)
    except SuggestionsUnavailable:
        # Posting does not need suggestions; a failed search is counted apart, never as
        # a search that found nothing.
        guards.count_refusal("search_failed")
    return [], False
