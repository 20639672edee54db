"""Deflection metrics, computed on read from ask sessions and their events.

Nothing here is stored: every figure is derived from the raw rows each time, with
the definitions of ``docs/metrics.md`` (the tests check exactly these).  A session
belongs to a date range by the day it started in ``REPORT_TIME_ZONE`` (UTC by default); its whole event history up to
``now`` is used to classify it.  The rules themselves live in ``outcomes.py``
(one session), ``holdout.py`` (the two arms), ``health.py`` and ``gaps.py``.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from ...extensions import db
from ...models import AskEvent, AskRefusal, AskSession, Thread, utcnow
from ...models.metrics import CONTACT_KINDS
from .. import inputs
from ..errors import ValidationError
from . import breakdowns, gaps, health, holdout
from .outcomes import Outcome, SessionFacts, classify, mark_exclusions

MAX_RANGE_DAYS = 3660


# -- date ranges ------------------------------------------------------------------------

def parse_range(raw_from: str | None, raw_to: str | None, *, today: date | None = None,
                default_days: int = 30) -> tuple[date, date]:
    """``from``/``to`` as inclusive days (YYYY-MM-DD) of the reporting time zone; the last 30 days by default.

    A range ends at the present: a ``to`` after today is today.
    """
    today = today or local_day(utcnow())
    end = min(_parse_day(raw_to, "to"), today) if raw_to else today
    start = _parse_day(raw_from, "from") if raw_from else end - timedelta(days=default_days - 1)
    if start > today:
        raise ValidationError("“from” must not be in the future.", field="from")
    if start > end:
        raise ValidationError("“from” must be on or before “to”.", field="from")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"The range may span at most {MAX_RANGE_DAYS} days.", field="from")
    return start, end


def _parse_day(raw: str, name: str) -> date:
    return inputs.parse_day(raw, name)


def report_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("REPORT_TIME_ZONE") or "UTC")


def local_day(moment: datetime) -> date:
    """The reporting time zone's day of a stored (naive UTC) moment."""
    return moment.replace(tzinfo=timezone.utc).astimezone(report_zone()).date()


def _utc_midnight(day: date) -> datetime:
    """The naive UTC moment at which ``day`` starts in the reporting time zone."""
    local = datetime.combine(day, time.min, tzinfo=report_zone())
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, day after end 00:00) in the reporting time zone (UTC by default), as naive
    UTC moments: inclusive days as a half-open interval."""
    return _utc_midnight(start), _utc_midnight(end + timedelta(days=1))


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# -- loading ---------------------------------------------------------------------------------

def load_sessions(low: datetime, high: datetime) -> list[SessionFacts]:
    """The sessions started in [low, high) with their events: two queries."""
    in_range = (AskSession.started_at >= low, AskSession.started_at < high)
    facts = {
        row.id: SessionFacts(id=row.id, started_at=row.started_at, visitor_id=row.visitor_id,
                             user_id=row.user_id, page=row.page, arm=row.arm,
                             address_key=row.address_key, beacon_at=row.beacon_at)
        for row in db.session.execute(
            select(AskSession.id, AskSession.started_at, AskSession.visitor_id, AskSession.user_id,
                   AskSession.page, AskSession.arm, AskSession.address_key, AskSession.beacon_at)
            .where(*in_range))
    }
    rows = db.session.execute(
        select(AskEvent.session_id, AskEvent.kind, AskEvent.created_at, AskEvent.thread_id,
               AskEvent.idea_id, AskEvent.result_count, AskEvent.article_id)
        .join(AskSession, AskSession.id == AskEvent.session_id).where(*in_range)
    )
    for row in rows:
        facts[row.session_id].add(row.kind, row.created_at, row.thread_id, row.idea_id, row.result_count,
                                  row.article_id)
    return list(facts.values())


def load_visits(low: datetime, high: datetime, window: timedelta) -> tuple[list[holdout.Visit], list[tuple]]:
    """What attribution needs for sessions started in [low, high): every contact made in
    [low, high + window), by whichever session recorded it, and every session that could
    be a contact's latest earlier one (started in [low − window, high + window))."""
    visits = [holdout.Visit(r.id, r.visitor_id, r.user_id, r.started_at) for r in db.session.execute(
        select(AskSession.id, AskSession.visitor_id, AskSession.user_id, AskSession.started_at)
        .where(AskSession.started_at >= low - window, AskSession.started_at < high + window))]
    contacts = [(r.created_at, r.visitor_id, r.user_id) for r in db.session.execute(
        select(AskEvent.created_at, AskSession.visitor_id, AskSession.user_id)
        .join(AskSession, AskSession.id == AskEvent.session_id)
        .where(AskEvent.created_at >= low, AskEvent.created_at < high + window,
               AskEvent.kind.in_(CONTACT_KINDS)))]
    return visits, contacts


def refusals(start: date, end: date) -> dict[str, int]:
    """What the guards refused on the range's days, by reason."""
    rows = db.session.execute(
        select(AskRefusal.reason, func.sum(AskRefusal.count)).where(
            AskRefusal.day >= start, AskRefusal.day <= end).group_by(AskRefusal.reason))
    return {reason: int(total or 0) for reason, total in rows}


def settings() -> dict:
    config = current_app.config
    return {
        "window": timedelta(minutes=float(config["DEFLECTION_INFERRED_MINUTES"])),
        "attribution": timedelta(days=float(config.get("DEFLECTION_WINDOW_DAYS", 7))),
        "cost": float(config["DEFLECTION_COST_PER_CONTACT"]),
        "currency": config.get("DEFLECTION_CURRENCY", "USD"),
        "exclude_automated": bool(config.get("DEFLECTION_EXCLUDE_AUTOMATED", True)),
        "cap": int(config.get("DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR", 20) or 0),
        "min_holdout": int(config.get("DEFLECTION_MIN_HOLDOUT", 100)),
        "share": float(config.get("DEFLECTION_HOLDOUT", 0)),
    }


# -- the report ----------------------------------------------------------------------------

def classify_range(low: datetime, high: datetime, *, now: datetime, conf: dict):
    """``(outcomes, arms, contacts)``: every session of [low, high) classified, exclusions
    and failures marked, and the two arms counted by intention to treat."""
    sessions = load_sessions(low, high)
    outcomes = [(f, classify(f, now=now, window=conf["window"])) for f in sessions]
    mark_exclusions(outcomes, exclude_automated=conf["exclude_automated"], cap_per_hour=conf["cap"])
    visits, contacts = load_visits(low, high, conf["attribution"])
    contacted = holdout.attribute_contacts(visits, contacts, conf["attribution"])
    by_visitor = defaultdict(list)
    for at, visitor_id, user_id in contacts:
        by_visitor[("v", visitor_id)].append(at)
        if user_id:
            by_visitor[("u", user_id)].append(at)
    arms = holdout.ArmCounts()
    for facts, outcome in outcomes:
        arms.add(facts.arm, facts.id in contacted)
        if outcome.deflected:
            visit = holdout.Visit(facts.id, facts.visitor_id, facts.user_id, facts.started_at)
            outcome.failed = holdout.later_contact(visit, outcome.at, by_visitor, conf["attribution"])
    return outcomes, arms, contacted


def deflection_report(start: date, end: date, *, now: datetime | None = None, gaps_limit: int = 20,
                      threads_limit: int = 10, compare: bool = True,
                      flt: breakdowns.Filter = breakdowns.Filter()) -> dict:
    """Every deflection figure for sessions started in [start, end], with health beside it,
    its breakdowns and roll-ups, and (``compare``) the previous period of the same length.

    With a filter (``flt``: a category and/or a tag), the tables and health cover the
    deflections crediting matching threads and the questions asked in them, and ``filter``
    counts those deflections; sessions, rates and the arms stay site-wide.
    """
    now = now or utcnow()
    conf = settings()
    low, high = bounds(start, end)
    outcomes, arms, contacted = classify_range(low, high, now=now, conf=conf)
    counted = [(f, o) for f, o in outcomes if not o.excluded]
    totals = count(counted)
    days = days_between(start, end)
    health_report = health.community_health(low, min(high, now), days, day_of=local_day, where=flt.conditions())
    health_days = health_report.pop("daily")
    avoided = totals["confirmed_deflections"] + totals["inferred_deflections"]
    cost = conf["cost"]
    excluded = Counter(o.excluded for _, o in outcomes if o.excluded)
    refused = refusals(start, end)
    report = {
        "from": start.isoformat(), "to": end.isoformat(),
        "as_of": now.replace(microsecond=0).isoformat() + "Z",
        "time_zone": str(report_zone()),
        **totals,
        "deflection_rate": health.rate(totals["confirmed_deflections"], totals["sessions_with_suggestions"]),
        "deflection_rate_with_inferred": health.rate(avoided, totals["sessions_with_suggestions"]),
        "contacts_avoided_correlational": avoided,
        "cost_per_contact": cost, "currency": conf["currency"],
        "estimated_savings": round(avoided * cost, 2),
        "estimated_savings_confirmed": round(totals["confirmed_deflections"] * cost, 2),
        "estimated_savings_held": round(totals["held_deflections"] * cost, 2),
        "inferred_window_minutes": conf["window"].total_seconds() / 60,
        "attribution_window_days": conf["attribution"].total_seconds() / 86400,
        **holdout.compare(arms, cost=cost, min_holdout=conf["min_holdout"], share=conf["share"]),
        "excluded_traffic": {
            "exclude_automated": conf["exclude_automated"],
            "max_confirmations_per_address_hour": conf["cap"],
            "excluded_sessions": sum(excluded.values()), "excluded_by_reason": dict(sorted(excluded.items())),
            "refused": sum(refused.values()), "refused_by_reason": dict(sorted(refused.items())),
        },
        "health": health_report,
        "daily": daily_series(days, counted, outcomes, contacted, health_days),
        "content_gaps": gaps.content_gaps(low, high, limit=gaps_limit,
                                          exclude={f.id for f, o in outcomes if o.excluded}),
    }
    tabled = counted
    if flt:
        tabled = breakdowns.matching(counted, flt)
        report["filter"] = breakdowns.filter_summary(flt, tabled, cost)
    report.update(tables(tabled, threads_limit=threads_limit))
    report.update(breakdowns.rollups(report["daily"]))
    if compare:
        previous = deflection_report(*breakdowns.previous_range(start, end), now=now, gaps_limit=0,
                                     threads_limit=0, compare=False, flt=flt)
        report["previous_period"] = breakdowns.comparison(report, previous)
    return report


def tables(counted, *, threads_limit: int) -> dict:
    """The report's tables of deflections: failed sessions, threads and articles credited, breakdowns."""
    return {
        "failed_sessions": failed_sessions(counted),
        "top_threads": top_deflecting_threads(counted, limit=threads_limit),
        **breakdowns.by_category_and_tag(counted),
        "by_content_type": breakdowns.by_content_type(counted),
        **breakdowns.articles_that_deflect(counted, limit=threads_limit),
    }


def daily_series(days, counted, outcomes, contacted, health_days) -> list[dict]:
    """One row per day (reporting time zone): the deflection counts, both arms' contact rates, health."""
    by_day = {d: [] for d in days}
    arms = {d: holdout.ArmCounts() for d in days}
    for facts, outcome in counted:
        by_day[local_day(facts.started_at)].append((facts, outcome))
    for facts, _ in outcomes:
        arms[local_day(facts.started_at)].add(facts.arm, facts.id in contacted)
    series = []
    for day in days:
        counts, arm = count(by_day[day]), arms[day]
        series.append({
            "date": day.isoformat(),
            **{key: counts[key] for key in ("sessions", "sessions_with_suggestions", "confirmed_deflections",
                                            "inferred_deflections", "held_deflections", "failed_deflections",
                                            "sessions_with_question", "sessions_with_support_request")},
            "deflection_rate": health.rate(counts["confirmed_deflections"], counts["sessions_with_suggestions"]),
            "deflection_rate_with_inferred": health.rate(
                counts["confirmed_deflections"] + counts["inferred_deflections"], counts["sessions_with_suggestions"]),
            "holdout_sessions": arm.holdout_sessions, "suggestion_sessions": arm.suggestion_sessions,
            "holdout_contacts": arm.holdout_contacts, "suggestion_contacts": arm.suggestion_contacts,
            "holdout_contact_rate": health.rate(arm.holdout_contacts, arm.holdout_sessions),
            "suggestion_contact_rate": health.rate(arm.suggestion_contacts, arm.suggestion_sessions),
            **health_days[day.isoformat()],
        })
    return series


def count(outcomes: list[tuple[SessionFacts, Outcome]]) -> dict:
    """The session and deflection counts of ``outcomes`` (see docs/metrics.md)."""
    counts = Counter()
    for facts, outcome in outcomes:
        counts["sessions"] += 1
        counts["anonymous_sessions"] += facts.user_id is None
        counts["sessions_with_suggestions"] += outcome.with_suggestions
        counts["sessions_with_opens"] += outcome.with_suggestions and bool(facts.opens)
        counts["confirmed_deflections"] += outcome.confirmed
        counts["inferred_deflections"] += outcome.inferred
        counts["inferred_pending"] += outcome.pending
        counts["held_deflections"] += outcome.deflected and not outcome.failed
        counts["failed_deflections"] += outcome.deflected and outcome.failed
        counts["still_need_help_sessions"] += facts.still_need_help
        kinds = {kind for _, kind in facts.contacts}
        counts["sessions_with_question"] += "question_posted" in kinds
        counts["sessions_with_support_request"] += "support_request" in kinds
        counts["sessions_with_contact"] += bool(kinds)
    keys = ("sessions", "anonymous_sessions", "sessions_with_suggestions", "sessions_with_opens",
            "confirmed_deflections", "inferred_deflections", "inferred_pending", "held_deflections",
            "failed_deflections", "still_need_help_sessions", "sessions_with_question",
            "sessions_with_support_request", "sessions_with_contact")
    return {key: int(counts[key]) for key in keys}


def failed_sessions(counted, *, limit: int = 50) -> list[dict]:
    """Deflections that failed (the visitor contacted later), with what they searched and opened."""
    failed = [(f, o) for f, o in counted if o.deflected and o.failed][:limit]
    if not failed:
        return []
    ids = [f.id for f, _ in failed]
    queries = defaultdict(list)
    for session_id, query in db.session.execute(
        select(AskEvent.session_id, AskEvent.query).where(
            AskEvent.session_id.in_(ids), AskEvent.kind == "suggestions_shown").order_by(AskEvent.id)):
        if query and query not in queries[session_id]:
            queries[session_id].append(query)
    return [{"session": f.id, "started_at": f.started_at.replace(microsecond=0).isoformat() + "Z",
             "kind": "confirmed" if o.confirmed else "inferred", "queries": queries[f.id],
             "opened_threads": sorted({t for _, t, _, _ in f.opens if t is not None}),
             "opened_articles": sorted({a for _, _, _, a in f.opens if a is not None})}
            for f, o in failed]


def top_deflecting_threads(outcomes, *, limit: int = 10) -> list[dict]:
    """Visible threads credited with deflections: the confirmed thread, or the last thread opened."""
    confirmed, inferred = Counter(), Counter()
    for _, outcome in outcomes:
        if outcome.credited_thread_id is None:
            continue
        (confirmed if outcome.confirmed else inferred)[outcome.credited_thread_id] += 1
    credited = set(confirmed) | set(inferred)
    if not credited:
        return []
    threads = {t.id: t for t in db.session.execute(
        select(Thread).where(Thread.id.in_(credited), *health.visible_threads())).scalars()}
    ranked = sorted(threads, key=lambda t: (-(confirmed[t] + inferred[t]), -confirmed[t], t))[:limit]
    return [{"thread_id": t, "title": threads[t].title, "url": f"/threads/{t}/{threads[t].slug}",
             "solved": bool(threads[t].solved), "confirmed": confirmed[t], "inferred": inferred[t],
             "total": confirmed[t] + inferred[t]} for t in ranked]
