"""URLs for code that runs outside a request: services, search documents, the CLI, workers, mail.

``url_for`` needs a request (or a configured ``SERVER_NAME``); these helpers do
not, so a search document, an audit link or a webhook payload carries the same
path a page would link to.  Paths must match the routes in ``views/``.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import current_app, has_request_context, request


def absolute_url(path: str) -> str:
    """``SITE_URL`` + path, or the request's host when no ``SITE_URL`` is configured."""
    base = current_app.config.get("SITE_URL")
    if not base and has_request_context():
        base = request.host_url
    return (base or "http://127.0.0.1:5000/").rstrip("/") + path


def thread_url(thread, post_id: int | None = None, external: bool = False) -> str:
    """``/threads/<id>/<slug>[#post-N]``."""
    url = f"/threads/{thread.id}/{thread.slug}"
    if post_id:
        url += f"#post-{post_id}"
    return absolute_url(url) if external else url


def idea_url(idea, external: bool = False) -> str:
    """``/ideas/<id>/<slug>``."""
    url = f"/ideas/{idea.id}/{idea.slug}"
    return absolute_url(url) if external else url


def user_url(username: str, external: bool = False) -> str:
    """``/users/<username>``, the public profile."""
    url = "/users/" + quote(username, safe="")
    return absolute_url(url) if external else url


def article_url(article, external: bool = False) -> str:
    """``/kb/<id>-<slug>``, a knowledge-base article."""
    url = f"/kb/{article.id}-{article.slug}"
    return absolute_url(url) if external else url
