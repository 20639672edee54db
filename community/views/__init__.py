"""HTML views: blueprints, template helpers and error pages."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .. import permissions
from ..extensions import db
from ..markup import safe
from ..search.errors import SearchUnavailable
from ..services.errors import ServiceError, Unavailable


def init_app(app: Flask) -> None:
    from . import (
        analytics,
        auth,
        deflection,
        forum,
        idea_links,
        ideas,
        kb,
        main,
        moderation,
        search,
        support,
        tickets,
        users,
    )

    for module in (main, auth, forum, users, ideas, idea_links, moderation, tickets, search, deflection,
                   support, analytics, kb):
        app.register_blueprint(module.bp)

    app.jinja_env.globals.update(perm=permissions, has_endpoint=lambda name: name in app.view_functions)
    app.jinja_env.filters["safe_html"] = safe
    app.jinja_env.filters["ago"] = _ago
    app.jinja_env.filters["number"] = lambda n: f"{n:,}"
    app.jinja_env.filters["plural"] = _plural

    @app.context_processor
    def inject_user_state():
        from ..services.notifications import unread_count

        unread = unread_count(current_user.id) if current_user.is_authenticated else 0
        return {"unread_notifications": unread, "site_name": app.config["SITE_NAME"]}

    @app.errorhandler(ServiceError)
    def service_error_page(exc: ServiceError):
        db.session.rollback()
        if request.accept_mimetypes.best == "application/json":
            # The page's own scripts (voting) ask for JSON; an HTML error page
            # would make them fall back to posting the form a second time.
            from ..api.errors import error_response

            return error_response(exc.status, exc.code, exc.message, exc.field)
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(SearchUnavailable)
    def search_unavailable(exc: SearchUnavailable):
        # A failed search is an error page (503), never a page of "no results".
        error = Unavailable("Search is temporarily unavailable; try again shortly.", code="search_unavailable")
        if request.path.startswith("/api/"):
            from ..api.errors import error_response

            db.session.rollback()
            return error_response(error.status, error.code, error.message)
        return service_error_page(error)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        if request.path.startswith("/api/"):
            from ..api.errors import json_http_error

            return json_http_error(exc)
        if exc.code and exc.code < 400:
            return exc
        return render_template("error.html", status=exc.code, message=exc.description), exc.code


def _plural(count, singular: str, plural: str | None = None) -> str:
    """``3|plural("answer")`` → "3 answers"; ``1|plural("answer")`` → "1 answer"."""
    word = singular if count == 1 else (plural or singular + "s")
    return f"{count:,} {word}"


def _ago(value) -> str:
    """"3 hours ago" for a naive UTC datetime."""
    if value is None:
        return ""
    from ..models import utcnow

    seconds = int((utcnow() - value).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("year", 31536000), ("month", 2592000), ("day", 86400), ("hour", 3600),
                       ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
