"""The search page: ``/search?q=`` with filters (category, solved, type, dates) and pages."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request

from .. import search as search_service
from ..services import inputs
from ..services.errors import ValidationError
from ..services.forum import listings

bp = Blueprint("search", __name__)

MAX_PAGE = 500
#: The orders offered, in the order shown (``search.schema.SORTS``).
SORT_LABELS = {"relevance": "Best match", "newest": "Newest", "active": "Recent activity", "votes": "Most votes"}


def _date(name: str, errors: list[str]) -> datetime | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return datetime.combine(inputs.parse_day(raw, name), time.min)
    except ValidationError:
        errors.append(f"“{raw[:20]}” is not a date between {inputs.MIN_DAY} and {inputs.MAX_DAY} "
                      "(use YYYY-MM-DD); that filter is ignored.")
        return None


@bp.get("/search")
def search():
    args = request.args
    q = (args.get("q") or "").strip()[:500]
    errors: list[str] = []
    categories = listings.categories()
    category_id = args.get("category", type=int)
    if category_id is not None and category_id not in {c.id for c in categories}:
        category_id = None
    kind = args.get("type") if args.get("type") in ("thread", "article", "idea") else None
    solved = True if args.get("solved") in ("1", "on", "true") else None
    since, until = _date("from", errors), _date("to", errors)
    if since and until and since > until:
        errors.append("The start date is after the end date; the dates are ignored.")
        since = until = None
    sort = args.get("sort") if args.get("sort") in SORT_LABELS else "relevance"
    page = min(max(args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    results = None
    if q:
        results = search_service.search(
            q, category_id=category_id, solved=solved, type=kind, since=since,
            until=until + timedelta(days=1) - timedelta(microseconds=1) if until else None,
            page=page, per_page=current_app.config["PAGE_SIZE"], sort=sort)
    filtered = any(v is not None for v in (category_id, kind, solved, since, until))
    return render_template("search/results.html", q=q, results=results, categories=categories,
                           category_id=category_id, kind=kind, solved=solved, errors=errors,
                           sort=sort, sort_labels=SORT_LABELS,
                           date_from=args.get("from", "") if since else "",
                           date_to=args.get("to", "") if until else "", filtered=filtered
                           ), 400 if errors else 200  # as the audit page: a filter it could not read
