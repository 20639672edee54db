"""Home page, all questions and tag listings."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..page_cache import cached_for_anonymous
from ..models import Category
from ..services.accounts import subscriptions
from ..services.forum import listings
from .util import paginate, sort_arg, url_for_args

bp = Blueprint("main", __name__)
#: Templates keep the query string through ``url_for_args`` (never ``url_for(**request.args)``).
bp.add_app_template_global(url_for_args, "url_for_args")


@bp.get("/")
@cached_for_anonymous(members=True)
def home():
    """What a customer needs first: search, categories, recent and unanswered threads."""
    recent = db.session.execute(listings.threads(sort="activity").limit(10)).scalars().all()
    unanswered = db.session.execute(listings.threads(sort="unanswered").limit(8)).scalars().all()
    return render_template("main/home.html", categories=listings.categories(),
                           stats=listings.category_stats(), recent=recent, unanswered=unanswered,
                           tags=listings.popular_tags(20))


def _choice(name: str, choices: dict, default: str) -> str:
    value = request.args.get(name, default)
    return value if value in choices else default


def _clean_tag(raw: str | None) -> str | None:
    """A tag from a URL, or 404 for what no tag can be (too long, control characters)."""
    if not raw:
        return None
    if len(raw) > 40 or any(ord(ch) < 0x20 for ch in raw):
        abort(404, description=f"No questions can be tagged “{raw[:40]}”.")
    return raw.lower()


@bp.get("/questions")
@cached_for_anonymous(members=True)
def questions():
    """Every visible question, ordered and filtered by category, tag and status."""
    sort = _choice("sort", listings.ORDERS, "activity")
    status = _choice("status", listings.STATUSES, "all")
    tag = _clean_tag(request.args.get("tag"))
    category = None
    slug = request.args.get("category")
    if slug:
        category = db.session.execute(select(Category).where(Category.slug == slug[:200])).scalar()
        if category is None:
            abort(404, description="No such category: it may have been renamed.")
    stmt = listings.threads(sort=sort, status=None if status == "all" else status, tag=tag,
                            category_id=category.id if category else None)
    filters = {k: v for k, v in (("sort", sort), ("status", status), ("tag", tag),
                                 ("category", category.slug if category else None))
               if v and v not in ("activity", "all")}
    return render_template("main/questions.html", pagination=paginate(stmt), sort=sort, status=status,
                           tag=tag, category=category, categories=listings.categories(),
                           orders=listings.ORDERS, statuses=listings.STATUSES, filters=filters)


@bp.get("/tags")
def tags():
    return render_template("main/tags.html", tags=listings.popular_tags(200))


@bp.get("/tags/<tag>")
def tag(tag: str):
    tag = _clean_tag(tag)
    sort = sort_arg()
    pagination = paginate(listings.threads(tag=tag, sort=sort))
    return render_template("forum/listing.html", heading=f"Tagged “{tag}”", pagination=pagination,
                           sort=sort, sorts=listings.SORTS, category=None, tag=tag,
                           watch_level=subscriptions.tag_level_by_name(current_user, tag))


@bp.get("/favicon.ico")
def favicon():
    """Browsers and feed readers ask for /favicon.ico whatever the page says."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
