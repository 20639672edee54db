"""Community health: how the community answered the questions asked in a range.

Computed on read from the posts themselves, never from a stored "first reply"
timestamp, so that hiding, restoring, deleting or merging a reply changes the
figures at once.  Definitions (``docs/metrics.md``, "Community health"):

- *answered*: a visible reply by someone other than the asker that is not a staff
  official reply (those are reported apart, ``answered_by_staff``);
- *solved*: an accepted answer by someone other than the asker that is not an official
  reply; the asker's own accepted answer is ``self_solved``, an official one ``solved_by_staff``;
- times run from the question's own creation to the first such reply / to the first
  acceptance (``solved_at``), never below zero (a reply merged in from an older thread
  counts as 0 s).
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Post, Thread

DAY_SECONDS = 24 * 3600
#: Threads per ``IN (...)`` list when reading replies (SQLite takes at most 999 parameters).
CHUNK = 500


def visible_threads():
    """The condition of a visible thread (not hidden, deleted or merged away): the model's one rule."""
    return (Thread.visible,)


def _replies(thread_ids: list[int]) -> dict[int, list]:
    """Visible replies per thread, oldest first: (created_at, author_id, is_official, id)."""
    replies = defaultdict(list)
    for chunk in range(0, len(thread_ids), CHUNK):
        ids = thread_ids[chunk:chunk + CHUNK]
        for row in db.session.execute(
            select(Post.thread_id, Post.created_at, Post.author_id, Post.is_official, Post.id)
            .where(Post.thread_id.in_(ids), Post.is_question.is_(False), Post.hidden.is_(False),
                   Post.deleted.is_(False)).order_by(Post.created_at, Post.id)
        ):
            replies[row.thread_id].append(row)
    return replies


def seconds_between(later: datetime, earlier: datetime) -> float:
    """``later - earlier`` in seconds, never negative."""
    return max(0.0, (later - earlier).total_seconds())


def classify_thread(thread, replies: list) -> dict:
    """The health facts of one question (see the module docstring)."""
    others = [r for r in replies if r.author_id != thread.author_id]
    community = [r for r in others if not r.is_official]
    official = [r for r in others if r.is_official]
    accepted = next((r for r in replies if r.id == thread.accepted_post_id), None)
    facts = {"answered": bool(community), "answered_by_staff": bool(official),
             "first_reply": seconds_between(community[0].created_at, thread.created_at) if community else None,
             "solved": False, "self_solved": False, "solved_by_staff": False, "to_solution": None}
    if accepted is not None:
        if accepted.author_id == thread.author_id:
            facts["self_solved"] = True
        elif accepted.is_official:
            facts["solved_by_staff"] = True
        else:
            facts["solved"] = True
            if thread.solved_at is not None:
                facts["to_solution"] = seconds_between(thread.solved_at, thread.created_at)
    return facts


def percentile(values: list[float], share: float) -> int | None:
    """Nearest-rank percentile (the smallest value with at least ``share`` of values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return int(round(ordered[max(0, math.ceil(share * len(ordered)) - 1)]))


def median(values: list[float]) -> int | None:
    return int(round(statistics.median(values))) if values else None


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def community_health(low: datetime, high: datetime, days: list[date],
                     day_of=lambda moment: moment.date(), where=()) -> dict:
    """Questions asked in [low, high) (and matching ``where``, conditions on ``Thread``) and how
    they were answered; ``daily`` keyed by ISO day.

    Two queries (threads, then their visible replies); percentiles in Python so that
    SQLite and PostgreSQL agree.  Times are measured up to now.
    """
    threads = db.session.execute(
        select(Thread.id, Thread.author_id, Thread.created_at, Thread.solved_at, Thread.accepted_post_id)
        .where(Thread.created_at >= low, Thread.created_at < high, *visible_threads(), *where)
    ).all()
    replies = _replies([t.id for t in threads])
    daily = {d.isoformat(): {"questions": 0, "answered": 0, "solved": 0} for d in days}
    totals = defaultdict(int)
    first_reply, to_solution = [], []
    for thread in threads:
        facts = classify_thread(thread, replies.get(thread.id, []))
        day = daily.get(day_of(thread.created_at).isoformat())
        if day is not None:
            day["questions"] += 1
            day["answered"] += facts["answered"]
            day["solved"] += facts["solved"]
        for key in ("answered", "answered_by_staff", "solved", "self_solved", "solved_by_staff"):
            totals[key] += facts[key]
        if facts["first_reply"] is not None:
            first_reply.append(facts["first_reply"])
            totals["answered_24h"] += facts["first_reply"] <= DAY_SECONDS
            totals["answered_72h"] += facts["first_reply"] <= 3 * DAY_SECONDS
        if facts["to_solution"] is not None:
            to_solution.append(facts["to_solution"])
    for day in daily.values():
        day["answered_rate"] = rate(day["answered"], day["questions"])
        day["solved_rate"] = rate(day["solved"], day["questions"])
    questions = len(threads)
    return {
        "questions": questions,
        "questions_per_day": round(questions / len(days), 2) if days else 0.0,
        **{key: int(totals[key]) for key in ("answered", "answered_by_staff", "solved", "self_solved",
                                             "solved_by_staff", "answered_24h", "answered_72h")},
        "answered_rate": rate(totals["answered"], questions),
        "answered_by_staff_rate": rate(totals["answered_by_staff"], questions),
        "solved_rate": rate(totals["solved"], questions),
        "answered_within_24h_rate": rate(totals["answered_24h"], questions),
        "answered_within_72h_rate": rate(totals["answered_72h"], questions),
        "median_time_to_first_reply_seconds": median(first_reply),
        "p90_time_to_first_reply_seconds": percentile(first_reply, 0.9),
        "median_time_to_accepted_answer_seconds": median(to_solution),
        "p90_time_to_accepted_answer_seconds": percentile(to_solution, 0.9),
        "daily": daily,
    }


__all__ = ["classify_thread", "community_health", "median", "percentile", "rate", "seconds_between",
           "visible_threads"]
