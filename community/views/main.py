"""Home page and tag listings."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..extensions import db
from ..services.forum import listings
from .util import paginate, sort_arg

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    """What a customer needs first: search, categories, recent and unanswered threads."""
    recent = db.session.execute(listings.threads(sort="activity").limit(10)).scalars().all()
    unanswered = db.session.execute(listings.threads(sort="unanswered").limit(8)).scalars().all()
    return render_template("main/home.html", categories=listings.categories(),
                           stats=listings.category_stats(), recent=recent, unanswered=unanswered,
                           tags=listings.popular_tags(20))


@bp.get("/tags")
def tags():
    return render_template("main/tags.html", tags=listings.popular_tags(200))


@bp.get("/tags/<tag>")
def tag(tag: str):
    if len(tag) > 40:
        abort(404)
    sort = sort_arg()
    pagination = paginate(listings.threads(tag=tag.lower(), sort=sort))
    return render_template("forum/listing.html", heading=f"Tagged “{tag}”", pagination=pagination,
                           sort=sort, sorts=listings.SORTS, category=None, tag=tag)
