"""HTML views: blueprints, template helpers and error pages."""
from __future__ import annotations

from flask import Flask
from flask_login import current_user

from .. import permissions
from ..markup import safe


def init_app(app: Flask) -> None:
    from . import (
        accept_links,
        account_data,
        analytics,
        auth,
        chrome,
        deflection,
        editor,
        errors,
        forum,
        health,
        idea_links,
        ideas,
        kb,
        main,
        moderation,
        search,
        settings,
        sso,
        sso_link,
        subscriptions,
        support,
        tickets,
        unaccepted,
        uploads,
        users,
    )

    for module in (main, auth, forum, users, ideas, idea_links, moderation, tickets, search, deflection,
                   support, analytics, kb, health, settings, uploads, editor, sso, account_data, subscriptions, unaccepted,
                   sso_link, accept_links):
        app.register_blueprint(module.bp)

    app.jinja_env.globals.update(perm=permissions)
    app.jinja_env.filters["safe_html"] = safe
    app.jinja_env.filters["ago"] = _ago
    app.jinja_env.filters["number"] = lambda n: f"{n:,}"
    app.jinja_env.filters["plural"] = _plural

    @app.context_processor
    def inject_user_state():
        from ..services.notifications import unread_count

        unread = unread_count(current_user.id) if current_user.is_authenticated else 0
        return {"unread_notifications": unread, "site_name": app.config["SITE_NAME"]}

    chrome.init_app(app)
    errors.init_app(app)


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
