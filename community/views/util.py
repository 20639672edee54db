"""Small helpers shared by the HTML views."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request, url_for

from ..extensions import db
from ..services.forum import listings


def sort_arg() -> str:
    sort = request.args.get("sort", "activity")
    return sort if sort in listings.SORTS else "activity"


def paginate(stmt, per_page: int | None = None):
    page = request.args.get("page", 1, type=int) or 1
    return db.paginate(stmt, page=max(page, 1), per_page=per_page or current_app.config["PAGE_SIZE"],
                       error_out=False, count=True)


def safe_local_path(target: str | None) -> str | None:
    """``target`` if a browser would stay on this site following it (a path, no scheme, no host), else None.

    The one check behind every redirect to a URL the client supplies (no open redirects).
    """
    target = target or ""
    # Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become "//evil.example".
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    # They also read "\" as "/", so "/\evil.example" is "//evil.example", another host.
    if not target.startswith("/") or target.startswith("//") or "\\" in target or urlsplit(target).netloc:
        return None
    return target


def safe_next(default: str) -> str:
    """The ``next`` parameter if it is a local path, else ``default``."""
    return safe_local_path(request.values.get("next")) or default


def safe_referrer(default: str) -> str:
    """The page the request came from if it is on this site, else ``default``."""
    referrer = request.referrer or ""
    if not referrer.startswith(request.host_url):
        return default
    return referrer if safe_local_path("/" + referrer[len(request.host_url):]) else default


def url_for_args(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` keeping this request's query parameters (filters, sort).

    The one way to carry ``request.args`` into a URL: ``values`` win over a parameter of the
    same name (``/threads/61?thread_id=2`` stays thread 61), and parameters that url_for reads
    as its own options (``_external``, ``_scheme``, ``_anchor``, ``_method``) are dropped, so
    a client never chooses the URL's host, scheme or fragment.
    """
    args = {key: items if len(items) > 1 else items[0] for key, items in request.args.lists()
            if not key.startswith("_") and key not in values}
    return url_for(endpoint, **args, **values)
