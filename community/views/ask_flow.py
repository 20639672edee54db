"""What the Ask and Contact-support pages share: the visitor cookie, the ask session,
suggestions shown on the page, and the no-JavaScript "see the matches first" step.
"""
from __future__ import annotations

from flask import current_app, g, request
from flask_login import current_user

from ..services.deflection import ask_sessions, suggestions


def visitor_id() -> str:
    """The long-lived visitor cookie's value, minting one (set after the response) if absent."""
    if "visitor_id" in g:
        return g.visitor_id
    name = current_app.config["DEFLECTION_VISITOR_COOKIE"]
    value = request.cookies.get(name)
    if not ask_sessions.valid_visitor_id(value):
        value = ask_sessions.new_token()
        g.set_visitor_cookie = value
    g.visitor_id = value
    return value


def set_visitor_cookie(response):
    """after_request: persist a freshly minted visitor id for two years."""
    value = g.get("set_visitor_cookie")
    if value:
        response.set_cookie(current_app.config["DEFLECTION_VISITOR_COOKIE"], value,
                            max_age=2 * 365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


def _user_id():
    return current_user.id if current_user.is_authenticated else None


def begin_session(page: str):
    """Start or resume this visitor's ask session; ``None`` for bots."""
    if ask_sessions.is_bot(request.user_agent.string):
        return None
    return ask_sessions.start_or_resume_session(
        visitor_id=visitor_id(), page=page, user=current_user if current_user.is_authenticated else None,
        user_agent=request.user_agent.string)


def form_session(page: str):
    """The session named by the form's ``ask_session`` field if this visitor owns it,
    else the visitor's current (or a new) one."""
    if ask_sessions.is_bot(request.user_agent.string):
        return None
    session = ask_sessions.owned_session(request.form.get("ask_session"), visitor_id=visitor_id(),
                                       user_id=_user_id())
    if session is not None:
        if session.user_id is None and _user_id():
            session.user_id = _user_id()
        return session
    return begin_session(page)


def session_from_arg(value: str | None):
    """A session id from a link, if this visitor owns it."""
    return ask_sessions.owned_session(value, visitor_id=visitor_id(), user_id=_user_id())


def page_suggestions(session, page: str, query: str | None) -> list[dict]:
    """Suggestions rendered by the server (first load with a title, or the no-JS step)."""
    if not (query or "").strip():
        return []
    try:
        results, _ = suggestions.suggestions_for_session(
            session, query, types=suggestions.TYPES_BY_PAGE[page])
    except suggestions.SuggestionsUnavailable:
        # Posting does not need suggestions: the page works without them (nothing recorded).
        return []
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
