"""Deflection metrics, computed on read from ask sessions and their events.

Nothing here is stored: every figure is derived from the raw rows each time, with
the definitions of ``docs/metrics.md`` (the tests check exactly these).  A session
belongs to a date range by the UTC day it started; its whole event history up to
``now`` is used to classify it.  Two queries load a range (sessions, then their
events) and the classification runs in Python, which keeps the rules readable and
identical on SQLite and PostgreSQL.
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import AskEvent, AskSession, Thread, utcnow
from ...models.metrics import CONTACT_KINDS
from ..errors import ValidationError

MAX_RANGE_DAYS = 3660


# -- date ranges ------------------------------------------------------------------------

def parse_range(raw_from: str | None, raw_to: str | None, *, today: date | None = None,
                default_days: int = 30) -> tuple[date, date]:
    """``from``/``to`` as inclusive UTC days (YYYY-MM-DD); the last 30 days by default."""
    today = today or utcnow().date()
    end = _parse_day(raw_to, "to") if raw_to else today
    start = _parse_day(raw_from, "from") if raw_from else end - timedelta(days=default_days - 1)
    if start > end:
        raise ValidationError("“from” must be on or before “to”.", field="from")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"The range may span at most {MAX_RANGE_DAYS} days.", field="from")
    return start, end


def _parse_day(raw: str, name: str) -> date:
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"“{name}” must be a date written YYYY-MM-DD.", field=name) from None


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, day after end 00:00): inclusive UTC days as a half-open interval."""
    return datetime.combine(start, time.min), datetime.combine(end + timedelta(days=1), time.min)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# -- classifying one session --------------------------------------------------------------

@dataclass
class SessionFacts:
    """The events of one session that the definitions look at."""

    id: str
    started_at: datetime
    user_id: int | None = None
    page: str = "ask"
    arm: str = "suggestions"
    shown_with_results: bool = False
    opens: list = field(default_factory=list)       # (at, thread_id, idea_id)
    confirms: list = field(default_factory=list)    # (at, thread_id)
    contacts: list = field(default_factory=list)    # (at, kind)
    still_need_help: bool = False

    def add(self, kind: str, at: datetime, thread_id=None, idea_id=None, result_count=None) -> None:
        if kind == "suggestions_shown" and (result_count or 0) > 0:
            self.shown_with_results = True
        elif kind == "suggestion_opened":
            self.opens.append((at, thread_id, idea_id))
        elif kind == "confirmed":
            self.confirms.append((at, thread_id))
        elif kind in CONTACT_KINDS:
            self.contacts.append((at, kind))
        elif kind == "still_need_help":
            self.still_need_help = True


@dataclass
class Outcome:
    with_suggestions: bool
    confirmed: bool = False
    inferred: bool = False
    pending: bool = False
    credited_thread_id: int | None = None


def classify(facts: SessionFacts, *, now: datetime, window: timedelta) -> Outcome:
    """Apply the definitions to one session (see docs/metrics.md).

    - with suggestions: at least one ``suggestions_shown`` with one result or more;
    - confirmed deflection: with suggestions, confirmed, and no contact at or after
      the first confirmation;
    - inferred deflection: with suggestions, never confirmed, opened a suggestion,
      and no contact between the first opening and ``window`` after the last one,
      that window having fully elapsed by ``now`` (until then the session is *pending*).
    Confirmed and inferred are disjoint by construction.
    """
    outcome = Outcome(with_suggestions=facts.shown_with_results)
    if not facts.shown_with_results:
        return outcome
    if facts.confirms:
        first_at, thread_id = min(facts.confirms, key=lambda c: c[0])
        if not any(at >= first_at for at, _ in facts.contacts):
            outcome.confirmed = True
            outcome.credited_thread_id = thread_id
        return outcome
    if not facts.opens:
        return outcome
    opens = sorted(facts.opens, key=lambda o: o[0])
    first_open, last_open = opens[0][0], opens[-1][0]
    deadline = last_open + window
    if any(first_open <= at <= deadline for at, _ in facts.contacts):
        return outcome
    if now < deadline:
        outcome.pending = True
        return outcome
    outcome.inferred = True
    outcome.credited_thread_id = opens[-1][1]
    return outcome


# -- loading ---------------------------------------------------------------------------------

def load_sessions(start: date, end: date) -> list[SessionFacts]:
    """The sessions started in [start, end] with their events: two queries."""
    low, high = _bounds(start, end)
    in_range = (AskSession.started_at >= low, AskSession.started_at < high)
    facts = {
        row.id: SessionFacts(id=row.id, started_at=row.started_at, user_id=row.user_id,
                             page=row.page, arm=row.arm)
        for row in db.session.execute(
            select(AskSession.id, AskSession.started_at, AskSession.user_id, AskSession.page,
                   AskSession.arm).where(*in_range))
    }
    rows = db.session.execute(
        select(AskEvent.session_id, AskEvent.kind, AskEvent.created_at, AskEvent.thread_id,
               AskEvent.idea_id, AskEvent.result_count)
        .join(AskSession, AskSession.id == AskEvent.session_id).where(*in_range)
    )
    for row in rows:
        facts[row.session_id].add(row.kind, row.created_at, row.thread_id, row.idea_id,
                                  row.result_count)
    return list(facts.values())


def _settings() -> tuple[timedelta, float, str]:
    config = current_app.config
    return (timedelta(minutes=float(config["DEFLECTION_INFERRED_MINUTES"])),
            float(config["DEFLECTION_COST_PER_CONTACT"]), config.get("DEFLECTION_CURRENCY", "USD"))


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# -- the report ----------------------------------------------------------------------------

def deflection_report(start: date, end: date, *, now: datetime | None = None,
                      gaps_limit: int = 20, threads_limit: int = 10) -> dict:
    """Every deflection figure for sessions started in [start, end], with health beside it."""
    now = now or utcnow()
    window, cost, currency = _settings()
    sessions = load_sessions(start, end)
    outcomes = [(f, classify(f, now=now, window=window)) for f in sessions]
    totals = _count(outcomes)
    avoided = totals["confirmed_deflections"] + totals["inferred_deflections"]
    daily = {d: [] for d in _days(start, end)}
    for facts, outcome in outcomes:
        daily[facts.started_at.date()].append((facts, outcome))
    health = community_health(start, end)
    health_days = health.pop("daily")
    series = []
    for day, items in daily.items():
        counts = _count(items)
        series.append({
            "date": day.isoformat(), "sessions": counts["sessions"],
            "sessions_with_suggestions": counts["sessions_with_suggestions"],
            "confirmed_deflections": counts["confirmed_deflections"],
            "inferred_deflections": counts["inferred_deflections"],
            "sessions_with_question": counts["sessions_with_question"],
            "sessions_with_support_request": counts["sessions_with_support_request"],
            "deflection_rate": _rate(counts["confirmed_deflections"], counts["sessions_with_suggestions"]),
            "deflection_rate_with_inferred": _rate(
                counts["confirmed_deflections"] + counts["inferred_deflections"],
                counts["sessions_with_suggestions"]),
            **health_days[day.isoformat()],
        })
    return {
        "from": start.isoformat(), "to": end.isoformat(), "as_of": now.replace(microsecond=0).isoformat() + "Z",
        **totals,
        "deflection_rate": _rate(totals["confirmed_deflections"], totals["sessions_with_suggestions"]),
        "deflection_rate_with_inferred": _rate(avoided, totals["sessions_with_suggestions"]),
        "contacts_avoided": avoided,
        "cost_per_contact": cost,
        "currency": currency,
        "estimated_savings": round(avoided * cost, 2),
        "estimated_savings_confirmed": round(totals["confirmed_deflections"] * cost, 2),
        "inferred_window_minutes": window.total_seconds() / 60,
        "holdout_share": float(current_app.config.get("DEFLECTION_HOLDOUT", 0)),
        "health": health,
        "daily": series,
        "content_gaps": content_gaps(start, end, limit=gaps_limit),
        "top_threads": top_deflecting_threads(outcomes, limit=threads_limit),
    }


def _count(outcomes) -> dict:
    counts = Counter()
    for facts, outcome in outcomes:
        counts["sessions"] += 1
        counts["anonymous_sessions"] += facts.user_id is None
        counts[f"{facts.arm}_arm_sessions"] += 1
        counts["sessions_with_suggestions"] += outcome.with_suggestions
        counts["sessions_with_opens"] += outcome.with_suggestions and bool(facts.opens)
        counts["confirmed_deflections"] += outcome.confirmed
        counts["inferred_deflections"] += outcome.inferred
        counts["inferred_pending"] += outcome.pending
        counts["still_need_help_sessions"] += facts.still_need_help
        kinds = {kind for _, kind in facts.contacts}
        counts["sessions_with_question"] += "question_posted" in kinds
        counts["sessions_with_support_request"] += "support_request" in kinds
        counts["sessions_with_contact"] += bool(kinds)
    keys = ("sessions", "anonymous_sessions", "sessions_with_suggestions", "sessions_with_opens",
            "confirmed_deflections", "inferred_deflections", "inferred_pending",
            "still_need_help_sessions", "sessions_with_question", "sessions_with_support_request",
            "sessions_with_contact")
    result = {key: int(counts[key]) for key in keys}
    result["holdout_sessions"] = int(counts["holdout_arm_sessions"])
    return result


def top_deflecting_threads(outcomes, *, limit: int = 10) -> list[dict]:
    """Threads credited with deflections: the confirmed thread, or the last one opened."""
    confirmed, inferred = Counter(), Counter()
    for _, outcome in outcomes:
        if outcome.credited_thread_id is None:
            continue
        (confirmed if outcome.confirmed else inferred)[outcome.credited_thread_id] += 1
    ranked = sorted(set(confirmed) | set(inferred),
                    key=lambda t: (-(confirmed[t] + inferred[t]), -confirmed[t], t))[:limit]
    if not ranked:
        return []
    threads = {t.id: t for t in db.session.execute(select(Thread).where(Thread.id.in_(ranked))).scalars()}
    return [{"thread_id": t, "title": threads[t].title if t in threads else "(deleted thread)",
             "url": f"/threads/{t}/{threads[t].slug}" if t in threads else None,
             "solved": bool(threads[t].solved) if t in threads else False,
             "confirmed": confirmed[t], "inferred": inferred[t], "total": confirmed[t] + inferred[t]}
            for t in ranked]


def content_gaps(start: date, end: date, *, limit: int = 20) -> list[dict]:
    """Queries whose suggestions did not help: no result, or none of them opened.

    Per session, a query that a later query of the same session extends (typing
    "reset pass" then "reset password") is dropped as a prefix.  A (session, query)
    is a gap when it showed nothing or the session opened none of its results.
    Grouped by normalized query and ranked by the number of sessions with a gap.
    """
    low, high = _bounds(start, end)
    in_range = (AskSession.started_at >= low, AskSession.started_at < high)
    shown = db.session.execute(
        select(AskEvent.session_id, AskEvent.id, AskEvent.query, AskEvent.normalized_query,
               AskEvent.result_ids, AskEvent.result_count, AskEvent.created_at)
        .join(AskSession, AskSession.id == AskEvent.session_id)
        .where(*in_range, AskEvent.kind == "suggestions_shown").order_by(AskEvent.id)
    ).all()
    if not shown:
        return []
    opened = defaultdict(set)
    for row in db.session.execute(
        select(AskEvent.session_id, AskEvent.thread_id, AskEvent.idea_id)
        .join(AskSession, AskSession.id == AskEvent.session_id)
        .where(*in_range, AskEvent.kind == "suggestion_opened")
    ):
        if row.thread_id:
            opened[row.session_id].add(f"thread:{row.thread_id}")
        if row.idea_id:
            opened[row.session_id].add(f"idea:{row.idea_id}")
    by_session = defaultdict(list)
    for row in shown:
        if row.normalized_query:
            by_session[row.session_id].append(row)
    groups: dict[str, dict] = {}
    for session_id, rows in by_session.items():
        for i, row in enumerate(rows):
            key = row.normalized_query
            if any(later.normalized_query != key and later.normalized_query.startswith(key)
                   for later in rows[i + 1:]):
                continue
            helped = (row.result_count or 0) > 0 and bool(set(row.result_ids or []) & opened[session_id])
            group = groups.setdefault(key, {"query": row.query or key, "searches": 0, "gaps": 0,
                                            "zero_results": 0, "last_seen": row.created_at})
            group["searches"] += 1
            group["gaps"] += not helped
            group["zero_results"] += not (row.result_count or 0)
            if row.created_at >= group["last_seen"]:
                group["last_seen"], group["query"] = row.created_at, row.query or key
    ranked = sorted((g for g in groups.values() if g["gaps"]),
                    key=lambda g: (-g["gaps"], -g["zero_results"], g["query"]))[:limit]
    return [{**g, "last_seen": g["last_seen"].replace(microsecond=0).isoformat() + "Z"} for g in ranked]


# -- community health ------------------------------------------------------------------------

def community_health(start: date, end: date) -> dict:
    """Questions asked in [start, end] (visible threads) and how the community answered them.

    One query; medians in Python so that SQLite and PostgreSQL agree.  Times are
    measured up to now, so the latest days have had less time to be answered.
    """
    low, high = _bounds(start, end)
    rows = db.session.execute(
        select(Thread.created_at, Thread.first_reply_at, Thread.solved_at, Thread.accepted_post_id)
        .where(Thread.created_at >= low, Thread.created_at < high, Thread.visible)
    ).all()
    days = _days(start, end)
    daily = {d.isoformat(): {"questions": 0, "answered": 0, "solved": 0} for d in days}
    first_reply, to_accept = [], []
    for row in rows:
        day = daily[row.created_at.date().isoformat()]
        day["questions"] += 1
        if row.first_reply_at is not None:
            day["answered"] += 1
            first_reply.append((row.first_reply_at - row.created_at).total_seconds())
        if row.accepted_post_id is not None:
            day["solved"] += 1
            if row.solved_at is not None:
                to_accept.append((row.solved_at - row.created_at).total_seconds())
    for day in daily.values():
        day["answered_rate"] = _rate(day["answered"], day["questions"])
        day["solved_rate"] = _rate(day["solved"], day["questions"])
    questions = len(rows)
    answered = sum(d["answered"] for d in daily.values())
    solved = sum(d["solved"] for d in daily.values())
    return {
        "questions": questions,
        "questions_per_day": round(questions / len(days), 2),
        "answered": answered,
        "solved": solved,
        "answered_rate": _rate(answered, questions),
        "solved_rate": _rate(solved, questions),
        "median_time_to_first_reply_seconds": _median(first_reply),
        "median_time_to_accepted_answer_seconds": _median(to_accept),
        "daily": daily,
    }


def _median(values: list[float]) -> int | None:
    return int(round(statistics.median(values))) if values else None
