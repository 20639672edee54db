"""Small helpers shared by the HTML views."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from ..extensions import db
from ..services.forum import listings


def sort_arg() -> str:
    sort = request.args.get("sort", "activity")
    return sort if sort in listings.SORTS else "activity"


def paginate(stmt, per_page: int | None = None):
    page = request.args.get("page", 1, type=int) or 1
    return db.paginate(stmt, page=max(page, 1), per_page=per_page or current_app.config["PAGE_SIZE"],
                       error_out=False, count=True)


def safe_next(default: str) -> str:
    """The ``next`` parameter if it is a local path, else ``default`` (no open redirects)."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    # Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become "//evil.example".
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and "\\" not in target:
        return target
    return default
