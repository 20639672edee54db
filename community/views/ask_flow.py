"""What the Ask and Contact-support pages share: the ask session, suggestions shown on
the page, and the no-JavaScript "see the matches first" step.  Who counts as a visitor
is decided by ``services/deflection`` (``visitors.py``, ``ask_sessions.session_for_request``).
"""
from __future__ import annotations

from flask import request
from flask_login import current_user

from ..services.deflection import ask_sessions, suggestions


def _user():
    return current_user if current_user.is_authenticated else None


def begin_session(page: str):
    """Start or resume this visitor's ask session; ``None`` (counted) for prefetches and bots."""
    return ask_sessions.session_for_request(page, user=_user())


def form_session(page: str):
    """The session named by the form's ``ask_session`` field if this visitor owns it,
    else the visitor's current (or a new) one."""
    session = ask_sessions.request_session(request.form.get("ask_session"), user=_user())
    if session is not None:
        if session.user_id is None and _user() is not None:
            session.user_id = current_user.id
        return session
    return begin_session(page)


def session_from_arg(value: str | None):
    """A session id from a link, if this visitor owns it."""
    return ask_sessions.request_session(value, user=_user())


def page_suggestions(session, page: str, query: str | None) -> list[dict]:
    """Suggestions rendered by the server (first load with a title, or the no-JS step),
    recorded only under the suggest API's own limit."""
    if not (query or "").strip():
        return []
    results, _ = suggestions.page_suggestions(session, query, types=suggestions.TYPES_BY_PAGE[page])
    return results


def needs_preview(session, page: str, query: str) -> list[dict]:
    """Without JavaScript, a first submit shows the matches before the final post.

    The page's script marks the form (``js=1``) because its visitor already saw
    suggestions while typing; "Post anyway" marks the second submit.  Holdout
    sessions see no matches, so they post at once, as they would with JavaScript.
    """
    if request.form.get("js") == "1" or request.form.get("post_anyway") == "1":
        return []
    return page_suggestions(session, page, query)
