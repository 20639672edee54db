"""Reading ideas in bulk: sorted and filtered lists, the product view's figures, CSV, similar ideas.

Trending score (documented in docs/ideas.md)::

    trending(idea) = Σ over its standing votes of 0.5 ** (age_in_days / IDEA_TRENDING_HALF_LIFE_DAYS)

A vote cast now is worth 1, a week-old vote 0.5, a month-old one about 0.05:
ideas gathering votes now rise above ideas that gathered more long ago.
Computed in SQL by one grouped subquery (``power`` and a portable
``days_between`` construct), so a page of ideas costs one query.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Float, Select, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.expression import FunctionElement

from ...extensions import db
from ...models import Category, Idea, IdeaVote, Tag, idea_tags, utcnow
from .. import inputs
from ...models.ideas import IDEA_STATUSES, OPEN_STATUSES
from ...urls import idea_url
from . import demand as demand_figures

SORTS = {"top": "Top", "trending": "Trending", "demand": "Most demand", "new": "Newest",
         "updated": "Recently updated"}
#: Windows of the product view's "votes gained" columns, in days.
WINDOWS = (7, 30, 90)
SPARK_WEEKS = 12


class days_between(FunctionElement):
    """``later - earlier`` in (fractional) days, on SQLite and PostgreSQL."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}))"


@compiles(days_between)
def _days_default(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (f"(EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"
            " / 86400.0)")


def trending_scores(now: datetime | None = None):
    """Subquery ``(idea_id, score)`` of the trending formula over recent votes."""
    now = now or utcnow()
    half_life = float(current_app.config.get("IDEA_TRENDING_HALF_LIFE_DAYS", 7))
    horizon = now - timedelta(days=current_app.config.get("IDEA_TRENDING_WINDOW_DAYS", 120))
    age = days_between(literal(now, db.DateTime()), IdeaVote.created_at)
    return (select(IdeaVote.idea_id.label("idea_id"),
                   func.sum(func.power(0.5, age / half_life)).label("score"))
            .where(IdeaVote.created_at >= horizon, IdeaVote.created_at <= now)
            .group_by(IdeaVote.idea_id).subquery("trending"))


def ideas(*, sort: str = "top", status: str | None = None, category_id: int | None = None,
          tag: str | None = None, include_duplicates: bool = False, now: datetime | None = None,
          min_demand: int | None = None) -> Select:
    """Ideas filtered and sorted; callers paginate.  Duplicates only when asked for by status.

    ``sort="demand"`` orders by the demand score (``demand.py``), ``min_demand``
    keeps ideas whose score is at least that.
    """
    stmt = select(Idea).options(selectinload(Idea.author), selectinload(Idea.category),
                                selectinload(Idea.tags), selectinload(Idea.response_by))
    if status:
        stmt = stmt.where(Idea.status == status)
    elif not include_duplicates:
        stmt = stmt.where(Idea.status != "duplicate")
    if category_id is not None:
        stmt = stmt.where(Idea.category_id == category_id)
    if tag:
        stmt = stmt.where(Idea.id.in_(
            select(idea_tags.c.idea_id).join(Tag, Tag.id == idea_tags.c.tag_id).where(Tag.name == tag)))
    if sort == "demand" or min_demand:
        customers, contacts, score = demand_figures.score_columns(now)
        stmt = (stmt.outerjoin(customers, customers.c.idea_id == Idea.id)
                .outerjoin(contacts, contacts.c.idea_id == Idea.id))
        if min_demand:
            stmt = stmt.where(score >= min_demand)
    if sort == "demand":
        stmt = stmt.order_by(score.desc(), Idea.vote_count.desc(), Idea.created_at.desc())
    elif sort == "trending":
        scores = trending_scores(now)
        stmt = stmt.outerjoin(scores, scores.c.idea_id == Idea.id).order_by(
            func.coalesce(scores.c.score, 0.0).desc(), Idea.vote_count.desc(), Idea.created_at.desc())
    elif sort == "new":
        stmt = stmt.order_by(Idea.created_at.desc())
    elif sort == "updated":
        stmt = stmt.order_by(Idea.last_activity_at.desc())
    else:
        stmt = stmt.order_by(Idea.vote_count.desc(), Idea.created_at.desc())
    return stmt.order_by(Idea.id.desc())


def trending_map(idea_ids, now: datetime | None = None) -> dict[int, float]:
    """Trending scores of these ideas (for display), one query."""
    if not idea_ids:
        return {}
    scores = trending_scores(now)
    rows = db.session.execute(select(scores.c.idea_id, scores.c.score).where(scores.c.idea_id.in_(list(idea_ids))))
    return {idea_id: float(score or 0) for idea_id, score in rows}


def parse_filters(args) -> dict:
    """``sort``, ``status``, ``category``, ``tag`` and ``min_demand`` from query arguments,
    unknown values dropped."""
    sort = args.get("sort", "top")
    min_demand = max(inputs.id_or_none(args.get("min_demand")) or 0, 0) or None
    status = args.get("status") or None
    category_id = inputs.id_or_none(args.get("category"))
    return {"sort": sort if sort in SORTS else "top",
            "status": status if status in IDEA_STATUSES else None,
            "category_id": category_id, "tag": (args.get("tag") or "").strip().lower() or None,
            "min_demand": min_demand}


def status_counts(category_id: int | None = None) -> dict[str, int]:
    stmt = select(Idea.status, func.count()).group_by(Idea.status)
    if category_id is not None:
        stmt = stmt.where(Idea.category_id == category_id)
    return dict(db.session.execute(stmt).all())


# -- the product view ------------------------------------------------------------

def votes_gained(idea_ids, now: datetime | None = None) -> dict[int, dict[int, int]]:
    """``{idea_id: {7: n, 30: n, 90: n}}``: standing votes cast in each window, one query."""
    if not idea_ids:
        return {}
    now = now or utcnow()
    columns = [func.sum(case((IdeaVote.created_at >= now - timedelta(days=d), 1), else_=0)) for d in WINDOWS]
    rows = db.session.execute(
        select(IdeaVote.idea_id, *columns).where(IdeaVote.idea_id.in_(list(idea_ids)))
        .group_by(IdeaVote.idea_id))
    result = {idea_id: dict.fromkeys(WINDOWS, 0) for idea_id in idea_ids}
    for idea_id, *counts in rows:
        result[idea_id] = {d: int(c or 0) for d, c in zip(WINDOWS, counts)}
    return result


def weekly_votes(idea_ids, weeks: int = SPARK_WEEKS, now: datetime | None = None) -> dict[int, list[int]]:
    """Votes per week over the last ``weeks`` weeks (oldest first), one query for all ideas."""
    now = now or utcnow()
    start = now - timedelta(weeks=weeks)
    series = {idea_id: [0] * weeks for idea_id in idea_ids}
    if not idea_ids:
        return series
    rows = db.session.execute(
        select(IdeaVote.idea_id, IdeaVote.created_at)
        .where(IdeaVote.idea_id.in_(list(idea_ids)), IdeaVote.created_at > start, IdeaVote.created_at <= now))
    for idea_id, created in rows:
        index = weeks - 1 - int((now - created).total_seconds() // (7 * 86400))
        if 0 <= index < weeks:
            series[idea_id][index] += 1
    return series


def sparkline_points(values: list[int], width: int = 120, height: int = 28, pad: int = 4) -> str:
    """SVG polyline points for ``values`` scaled into the box (flat at the bottom when all zero)."""
    if not values:
        return ""
    top = max(values) or 1
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    return " ".join(f"{pad + i * step:.1f},{height - pad - (v / top) * (height - 2 * pad):.1f}"
                    for i, v in enumerate(values))


def category_summary(now: datetime | None = None) -> list[dict]:
    """Per product: ideas (not duplicates), open ideas, standing votes, votes in the last 30 days."""
    now = now or utcnow()
    open_case = case((Idea.status.in_(OPEN_STATUSES), 1), else_=0)
    rows = db.session.execute(
        select(Category.id, Category.name, func.count(Idea.id), func.coalesce(func.sum(open_case), 0),
               func.coalesce(func.sum(Idea.vote_count), 0))
        .join(Idea, Idea.category_id == Category.id).where(Idea.status != "duplicate")
        .group_by(Category.id, Category.name).order_by(func.sum(Idea.vote_count).desc(), Category.name))
    recent = dict(db.session.execute(
        select(Idea.category_id, func.count(IdeaVote.id)).join(Idea, Idea.id == IdeaVote.idea_id)
        .where(IdeaVote.created_at >= now - timedelta(days=30)).group_by(Idea.category_id)).all())
    return [{"id": cid, "name": name, "ideas": n, "open": int(n_open), "votes": int(votes),
             "votes_30d": int(recent.get(cid, 0))} for cid, name, n, n_open, votes in rows]


# -- CSV export ------------------------------------------------------------------

CSV_COLUMNS = ("id", "title", "category", "status", "votes", "votes_30d", "customers", "threads", "tickets",
               "contacts_90d", "demand", "created", "url")


def export_csv(*, status: str | None = None, category_id: int | None = None, sort: str = "top",
               min_demand: int | None = None) -> str:
    """Top-voted first (or by demand); ``votes_30d`` counts standing votes cast in the last 30 days;
    the demand columns are defined in ``demand.py``."""
    now = utcnow()
    stmt = ideas(sort="demand" if sort == "demand" else "top", status=status, category_id=category_id,
                 include_duplicates=True, now=now, min_demand=min_demand)
    items = db.session.execute(stmt).scalars().all()
    ids = [i.id for i in items]
    recent = votes_gained(ids, now)
    figures = demand_figures.demand_map(ids, now)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for idea in items:
        d = figures[idea.id]
        writer.writerow([idea.id, _csv_safe(idea.title), _csv_safe(idea.category.name), idea.status,
                         idea.vote_count, recent[idea.id][30], d["customers"], d["threads"], d["tickets"],
                         d["contacts_90d"], d["demand"], idea.created_at.strftime("%Y-%m-%d"),
                         idea_url(idea, external=True)])
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """Defuse spreadsheet formulas in user text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- similar ideas ---------------------------------------------------------------

STOPWORDS = frozenset("""a an and are as at be but by can could do does for from had has have how i if in
into is it its let me my no not of on or our please should so that the their them then there these this
to us was we were what when where which while who why will with would you your add allow able make new
feature support option""".split())


def significant_words(text: str) -> list[str]:
    """The first 8 distinct words of ``text`` that say what an idea is about (3+ letters, not
    in :data:`STOPWORDS`, lower case)."""
    words = [w for w in re.findall(r"[a-z0-9]+", (text or "").lower()) if len(w) >= 3 and w not in STOPWORDS]
    return list(dict.fromkeys(words))[:8]


def similar_by_title(query: str, *, limit: int = 5, exclude_id: int | None = None) -> list[dict]:
    """Ideas whose titles share words with ``query``, most shared words first, then most votes.

    The fallback for "similar ideas" when the search index is unavailable:
    one SQL query; each significant word (3+ letters, not a stopword) of the
    query adds 1 when the title contains it.  Duplicates are left out.
    """
    words = significant_words(query)
    if not words:
        return []
    title = func.lower(Idea.title)
    hits = [case((title.like(f"%{_escape_like(w)}%", escape="\\"), 1), else_=0) for w in words]
    score = sum(hits[1:], hits[0])
    stmt = (select(Idea, score.label("score")).where(Idea.status != "duplicate", or_(*[h == 1 for h in hits]))
            .order_by(score.desc(), Idea.vote_count.desc(), Idea.id.desc()).limit(limit))
    if exclude_id:
        stmt = stmt.where(Idea.id != exclude_id)
    return [_suggestion(idea, float(s) / len(words)) for idea, s in db.session.execute(stmt)]


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _suggestion(idea: Idea, score: float) -> dict:
    return {"type": "idea", "id": idea.id, "title": idea.title, "url": idea_url(idea),
            "status": idea.status, "status_label": idea.status_label, "votes": idea.vote_count,
            "score": round(score, 3)}


def similar(query: str, *, limit: int = 5) -> tuple[list[dict], str]:
    """Similar ideas for the new-idea form: the search index if installed, else the title match.

    Returns ``(results, engine)`` with engine ``"search"`` or ``"title"``.
    """
    query = (query or "").strip()[:200]
    if len(query) < 3:
        return [], "none"
    try:
        from ...search import suggest  # built on the ``search`` branch
    except ImportError:
        suggest = None
    if suggest is not None:
        try:
            found = [r for r in suggest(query, limit=limit, types=("idea",)) if r.get("type") == "idea"]
        except Exception:  # noqa: BLE001 - a broken index must not break the form
            current_app.logger.exception("search.suggest failed; falling back to the title match")
            found = []
        if found:
            ideas_by_id = {i.id: i for i in db.session.execute(
                select(Idea).where(Idea.id.in_([r["id"] for r in found]))).scalars()}
            results = [_suggestion(ideas_by_id[r["id"]], r.get("score") or 0) for r in found
                       if r["id"] in ideas_by_id and ideas_by_id[r["id"]].status != "duplicate"]
            if results:
                return results, "search"
    return similar_by_title(query, limit=limit), "title"
