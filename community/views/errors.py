"""One styled error page for every status: what happened, in words, and a way back."""
from __future__ import annotations

from flask import Flask, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException, default_exceptions

from ..extensions import db
from ..json_errors import error_response, json_http_error
from ..search.errors import SearchRebuilding, SearchUnavailable
from ..services.errors import ServiceError, Unavailable
from .util import safe_referrer

TITLES = {400: "That request did not make sense", 401: "Please log in", 403: "You can't do that here",
          404: "We couldn't find that page", 405: "That action isn't available here",
          409: "That changed while you were looking", 413: "That's too large",
          415: "That file type isn't supported", 429: "Slow down a little",
          500: "Something went wrong on our side", 503: "We're busy right now"}

MESSAGES = {
    400: "Something in the address or the form could not be read. Go back and try again.",
    401: "Log in to see this page.",
    403: "Your account does not have access to this page or action.",
    404: "The link may be mistyped, or what it pointed to was removed or merged.",
    405: "This address does not accept that kind of request: use the page's own buttons and forms.",
    409: "Reload the page to see the current state, then try again.",
    413: "What you sent is larger than we accept.",
    429: "You did that many times in a short while. Wait a minute, then try again.",
    500: "We have been told. Try again in a moment; what you saved before this is kept.",
}

# Blueprint → (the thing a 404 there is about, where to browse instead).
_NOT_FOUND = {"forum": ("thread", "main.questions", "Browse all questions"),
              "main": ("page", "main.questions", "Browse all questions"),
              "ideas": ("idea", "ideas.index", "Browse ideas"),
              "users": ("member", "users.directory", "See all people"),
              "tickets": ("ticket", "tickets.mine", "Your tickets")}

# Blueprint or endpoint → who a 403 there is for.
_AUDIENCE = {"moderation": "moderators", "tickets": "support staff", "analytics": "staff who read the metrics",
             "ideas.product": "the product team", "ideas.export": "the product team"}

_DEFAULT_DESCRIPTIONS = {code: exc.description for code, exc in default_exceptions.items()}


def _message(status: int, description: str | None) -> str:
    """The view's own description, unless it is Werkzeug's generic sentence."""
    if description and description != _DEFAULT_DESCRIPTIONS.get(status):
        return description
    audience = _AUDIENCE.get(request.endpoint or "") or _AUDIENCE.get(request.blueprint or "")
    if status == 403 and audience:
        return f"This page is for {audience}. " + MESSAGES[403]
    if status == 404 and request.blueprint in _NOT_FOUND:
        noun = _NOT_FOUND[request.blueprint][0]
        return f"No such {noun}: " + MESSAGES[404][0].lower() + MESSAGES[404][1:]
    return MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])


def _back_link() -> str | None:
    """The page the visitor came from, when it is a page of this site (never an open redirect)."""
    back = safe_referrer("")
    return back if back and back != request.url else None


def _ways_on(status: int) -> list[tuple[str, str]]:
    links = []
    if status in (401, 403) and not current_user.is_authenticated:
        links.append((url_for("auth.login", next=request.full_path.rstrip("?")), "Log in"))
    browse = _NOT_FOUND.get(request.blueprint or "")
    if status == 404 and browse:
        links.append((url_for(browse[1]), browse[2]))
    if status in (404, 410):
        links.append((url_for("search.search"), "Search the community"))
    links.append((url_for("main.home"), "Community home"))
    return links


def render_error(status: int, message: str | None):
    fallback = TITLES[500] if status >= 500 else TITLES[400]
    page = render_template("error.html", status=status, title=TITLES.get(status, fallback),
                           message=_message(status, message), back=_back_link(), links=_ways_on(status))
    return page, status


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error_page(exc: ServiceError):
        db.session.rollback()
        if request.accept_mimetypes.best == "application/json":
            # The page's own scripts (voting) ask for JSON; an HTML error page
            # would make them fall back to posting the form a second time.
            return error_response(exc.status, exc.code, exc.message, exc.field)
        return render_error(exc.status, exc.message)

    @app.errorhandler(SearchUnavailable)
    def search_unavailable(exc: SearchUnavailable):
        # A failed search is an error page (503), never a page of "no results".
        message = str(exc) if isinstance(exc, SearchRebuilding) else "Search is temporarily unavailable; try again shortly."
        error = Unavailable(message, code="search_unavailable")
        if request.path.startswith("/api/"):
            db.session.rollback()
            return error_response(error.status, error.code, error.message)
        return service_error_page(error)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        if request.path.startswith("/api/"):
            return json_http_error(exc)
        if exc.code and exc.code < 400:
            return exc
        response = exc.get_response()
        page, status = render_error(exc.code or 500, exc.description)
        # Keep what the exception says about the response (Allow on 405, Retry-After on 429).
        headers = {k: v for k, v in response.headers.items() if k in ("Allow", "Retry-After")}
        return page, status, headers
