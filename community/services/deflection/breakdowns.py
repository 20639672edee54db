"""The report cut other ways: by category and tag, by content type (thread or article), by week
and month, against the previous period; and filtered to one category and/or tag.

A deflection belongs to the category and tags of the thread it credits (the confirmed
thread, or the last thread opened); only visible threads are broken down.  A filter
(``category``, ``tag``) keeps the deflections crediting a matching visible thread and the
questions asked in it; sessions and the holdout arms have no category, so they stay
site-wide (docs/metrics.md, "Breakdowns").  Weekly
(ISO weeks, from Monday) and monthly roll-ups sum the daily rows and recompute their
rates from the sums, never by averaging daily rates (docs/metrics.md, "Breakdowns").
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from ...extensions import db
from ... import urls
from ...models import Article, Category, Tag, Thread, thread_tags
from ..errors import ValidationError
from . import health

#: Daily counts that roll up by summing.
SUMMED = ("sessions", "sessions_with_suggestions", "confirmed_deflections", "inferred_deflections",
          "held_deflections", "failed_deflections", "sessions_with_question", "sessions_with_support_request",
          "holdout_sessions", "holdout_contacts", "suggestion_sessions", "suggestion_contacts",
          "questions", "answered", "solved")

#: Figures compared with the previous period of the same length.
COMPARED = ("sessions", "sessions_with_suggestions", "confirmed_deflections", "inferred_deflections",
            "held_deflections", "failed_deflections", "sessions_with_contact", "deflection_rate",
            "estimated_savings_held")


@dataclass(frozen=True)
class Filter:
    """One category and/or one tag (``None``: not filtered on it)."""

    category_id: int | None = None
    category: str | None = None      # the slug
    tag_id: int | None = None
    tag: str | None = None

    def __bool__(self) -> bool:
        return self.category_id is not None or self.tag_id is not None

    def conditions(self) -> list:
        """The filter as conditions on ``Thread`` (for health's questions and credited threads)."""
        where = []
        if self.category_id is not None:
            where.append(Thread.category_id == self.category_id)
        if self.tag_id is not None:
            where.append(Thread.id.in_(select(thread_tags.c.thread_id).where(thread_tags.c.tag_id == self.tag_id)))
        return where


def parse_filter(raw_category: str | None, raw_tag: str | None) -> Filter:
    """``category`` (a slug, or an id) and ``tag`` (a name) from a request; an unknown one is a 400."""
    category = tag = None
    if raw_category:
        value = raw_category.strip()
        by = Category.id == int(value) if value.isdigit() and len(value) < 10 else Category.slug == value.lower()
        category = db.session.execute(select(Category).where(by)).scalar()
        if category is None:
            raise ValidationError("No such category.", field="category")
    if raw_tag:
        tag = db.session.execute(select(Tag).where(Tag.name == raw_tag.strip().lower()[:30])).scalar()
        if tag is None:
            raise ValidationError("No such tag.", field="tag")
    return Filter(category.id if category else None, category.slug if category else None,
                  tag.id if tag else None, tag.name if tag else None)


def categories() -> list[tuple[str, str]]:
    """``(slug, name)`` of every category, for the page's filter."""
    return [(slug, name) for slug, name in db.session.execute(
        select(Category.slug, Category.name).order_by(Category.name))]


def matching(counted, flt: Filter) -> list:
    """The deflections of ``counted`` that credit a visible thread matching ``flt``."""
    ids = {o.credited_thread_id for _, o in counted if o.deflected and o.credited_thread_id}
    if not ids:
        return []
    keep = set(db.session.execute(select(Thread.id).where(
        Thread.id.in_(ids), *health.visible_threads(), *flt.conditions())).scalars())
    return [(f, o) for f, o in counted if o.deflected and o.credited_thread_id in keep]


def filter_summary(flt: Filter, deflections, cost: float) -> dict:
    """The ``filter`` block of the report: what was filtered on, and its deflections."""
    confirmed = sum(o.confirmed for _, o in deflections)
    held = sum(not o.failed for _, o in deflections)
    return {"category": flt.category, "tag": flt.tag, "deflections": len(deflections),
            "confirmed_deflections": confirmed, "inferred_deflections": len(deflections) - confirmed,
            "held_deflections": held, "failed_deflections": len(deflections) - held,
            "estimated_savings_confirmed": round(confirmed * cost, 2),
            "estimated_savings_held": round(held * cost, 2)}


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def comparison(current: dict, previous: dict) -> dict:
    """``{"from", "to", figure: previous value, ..., "change": {figure: current − previous}}``."""
    change = {}
    for key in COMPARED:
        now, before = current.get(key), previous.get(key)
        change[key] = None if now is None or before is None else round(now - before, 4)
    return {"from": previous["from"], "to": previous["to"], **{k: previous.get(k) for k in COMPARED},
            "change": change}


def by_category_and_tag(counted) -> dict:
    """Deflections per category and per tag of the credited (visible) thread, most first."""
    credited = [(o, o.credited_thread_id) for _, o in counted if o.deflected and o.credited_thread_id]
    ids = {thread_id for _, thread_id in credited}
    if not ids:
        return {"by_category": [], "by_tag": []}
    category_of = dict(db.session.execute(
        select(Thread.id, Category.name).join(Category, Category.id == Thread.category_id)
        .where(Thread.id.in_(ids), *health.visible_threads())).all())
    tags_of = defaultdict(list)
    for thread_id, name in db.session.execute(
            select(thread_tags.c.thread_id, Tag.name).join(Tag, Tag.id == thread_tags.c.tag_id)
            .where(thread_tags.c.thread_id.in_(list(category_of)))):
        tags_of[thread_id].append(name)
    categories, tags = defaultdict(Counter), defaultdict(Counter)
    for outcome, thread_id in credited:
        if thread_id not in category_of:
            continue
        for bucket in [categories[category_of[thread_id]]] + [tags[t] for t in tags_of[thread_id]]:
            bucket["confirmed"] += outcome.confirmed
            bucket["inferred"] += outcome.inferred
            bucket["held"] += not outcome.failed
            bucket["failed"] += outcome.failed
    return {"by_category": _rows(categories, "category"), "by_tag": _rows(tags, "tag")}


def _rows(buckets: dict, label: str) -> list[dict]:
    rows = [{label: name, "deflections": c["confirmed"] + c["inferred"], "confirmed": c["confirmed"],
             "inferred": c["inferred"], "held": c["held"], "failed": c["failed"]} for name, c in buckets.items()]
    return sorted(rows, key=lambda r: (-r["deflections"], r[label]))


def rollups(daily: list[dict]) -> dict:
    """``{"weekly": [...], "monthly": [...]}`` from the daily rows."""
    def period(row_date: str, monthly: bool) -> str:
        day = date.fromisoformat(row_date)
        return day.replace(day=1).isoformat() if monthly else (day - timedelta(days=day.weekday())).isoformat()

    result = {}
    for name, monthly in (("weekly", False), ("monthly", True)):
        sums: dict[str, Counter] = {}
        for row in daily:
            bucket = sums.setdefault(period(row["date"], monthly), Counter())
            for key in SUMMED:
                bucket[key] += row.get(key) or 0
        result[name] = [_rolled(start, counts) for start, counts in sums.items()]
    return result


def _rolled(start: str, c: Counter) -> dict:
    return {"period_start": start, **{key: int(c[key]) for key in SUMMED},
            "deflection_rate": health.rate(c["confirmed_deflections"], c["sessions_with_suggestions"]),
            "deflection_rate_with_inferred": health.rate(c["confirmed_deflections"] + c["inferred_deflections"],
                                                         c["sessions_with_suggestions"]),
            "holdout_contact_rate": health.rate(c["holdout_contacts"], c["holdout_sessions"]),
            "suggestion_contact_rate": health.rate(c["suggestion_contacts"], c["suggestion_sessions"]),
            "answered_rate": health.rate(c["answered"], c["questions"]),
            "solved_rate": health.rate(c["solved"], c["questions"])}


def by_content_type(counted) -> dict:
    """Deflections by what they credit: a community thread or an official article."""
    kinds = {"thread": Counter(), "article": Counter()}
    for _, outcome in counted:
        if not outcome.deflected:
            continue
        kind = "article" if outcome.credited_article_id else "thread" if outcome.credited_thread_id else None
        if kind is None:
            continue
        bucket = kinds[kind]
        bucket["confirmed"] += outcome.confirmed
        bucket["inferred"] += outcome.inferred
        bucket["held"] += not outcome.failed
        bucket["failed"] += outcome.failed
    return {kind: {key: int(c[key]) for key in ("confirmed", "inferred", "held", "failed")}
            for kind, c in kinds.items()}


def articles_that_deflect(counted, *, limit: int = 10) -> dict:
    """``{"top_articles": [...], "failing_articles": [...]}``: published articles credited with
    deflections, most first, and those whose readers most often contacted support afterwards."""
    tally = defaultdict(Counter)
    for _, outcome in counted:
        if outcome.deflected and outcome.credited_article_id:
            c = tally[outcome.credited_article_id]
            c["confirmed"] += outcome.confirmed
            c["inferred"] += outcome.inferred
            c["failed"] += outcome.failed
    if not tally:
        return {"top_articles": [], "failing_articles": []}
    articles = {a.id: a for a in db.session.execute(
        select(Article).where(Article.id.in_(list(tally)), Article.state == "published")).scalars()}
    rows = [{"article_id": a, "title": articles[a].title, "url": urls.article_url(articles[a]),
             "confirmed": tally[a]["confirmed"], "inferred": tally[a]["inferred"], "failed": tally[a]["failed"],
             "total": tally[a]["confirmed"] + tally[a]["inferred"]} for a in articles]
    top = sorted(rows, key=lambda r: (-r["total"], -r["confirmed"], r["article_id"]))[:limit]
    failing = sorted((r for r in rows if r["failed"]), key=lambda r: (-r["failed"], r["article_id"]))[:limit]
    return {"top_articles": top, "failing_articles": failing}
