"""Clicks on "Related questions" as learned evidence (issue 16).

A visitor reading thread A who follows its related link to thread B says "what A asks is a
way of asking for B": A's title becomes a vote for B (source ``related``, the weakest, so it
never replaces a confirmation, a judgment or an opened suggestion of the same visitor).
Counted like the other votes: one per distinct visitor and thread (voter ``visitor:<id>``,
the table's unique key), under ``learned.LEARN_CAP``, decayed with age.

Learned by :func:`rebuild` (``flask search learn``), never at the click itself, and only from
clicks that

- came with the visitor cookie an earlier page set (``RelatedClick.cookie_kept``): a client that
  keeps no cookies, as a script replaying URLs, is a new visitor at every request and would
  otherwise be as many voters as requests;
- are within the hourly address cap of confirmed deflections
  (``DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR``: beyond it, an address's later clicks
  in that clock hour are left out) while automated traffic is excluded
  (``DEFLECTION_EXCLUDE_AUTOMATED``); bots and prefetches were never recorded;
- are not made by a visitor in the holdout arm: a visitor with a holdout ask session started
  within the attribution window (``DEFLECTION_WINDOW_DAYS``) before the click is left out,
  as their contacts are counted for the holdout;
- lead from and to threads visible now.

A click's words are a public thread title: no ticket text is ever read.  Callers commit.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import AskSession, RelatedClick, SearchEvidence, Thread, utcnow
from . import evidence
from .evidence import Rebuilt

SOURCE = "related"


def _holdout_starts(visitor_ids) -> dict[str, list[datetime]]:
    """``{visitor: [start of each holdout ask session]}``."""
    out: dict[str, list[datetime]] = defaultdict(list)
    ids = list(visitor_ids)
    for start in range(0, len(ids), 500):
        for visitor, started in db.session.execute(select(AskSession.visitor_id, AskSession.started_at).where(
                AskSession.arm == "holdout", AskSession.visitor_id.in_(ids[start:start + 500]))):
            out[visitor].append(started)
    return out


def learnable_clicks(low: datetime, high: datetime) -> list[tuple[int, int, str, datetime]]:
    """``(thread, target, visitor, at)`` of the clicks in [low, high) that may teach search."""
    from ..deflection import metrics

    conf = metrics.settings()
    rows = db.session.execute(
        select(RelatedClick.thread_id, RelatedClick.target_id, RelatedClick.visitor_id, RelatedClick.created_at,
               RelatedClick.address_key)
        .where(RelatedClick.created_at >= low, RelatedClick.created_at < high, RelatedClick.cookie_kept)
        .order_by(RelatedClick.created_at, RelatedClick.id)).all()
    holdout = _holdout_starts({row.visitor_id for row in rows})
    window = conf["attribution"]
    per_hour: dict[tuple, int] = defaultdict(int)
    out = []
    for row in rows:
        if any(started <= row.created_at <= started + window for started in holdout.get(row.visitor_id, ())):
            continue
        if conf["exclude_automated"] and conf["cap"]:
            hour = (row.address_key, row.created_at.replace(minute=0, second=0, microsecond=0))
            per_hour[hour] += 1
            if per_hour[hour] > conf["cap"]:
                continue
        out.append((row.thread_id, row.target_id, row.visitor_id, row.created_at))
    return out


def rebuild(*, now: datetime | None = None, days: int | None = None) -> Rebuilt:
    """Replace the click-made votes with those the learnable clicks of the last ``days`` support
    (per visitor and target, the latest click).  Returns the votes written and the threads to re-index."""
    now = now or utcnow()
    days = int(current_app.config.get("SEARCH_LEARN_DAYS", 730) if days is None else days)
    latest: dict[tuple[int, str], tuple[datetime, int]] = {}
    for thread_id, target_id, visitor, at in learnable_clicks(now - timedelta(days=days), now + timedelta(seconds=1)):
        latest[(target_id, visitor)] = (at, thread_id)  # in time order: the last one stays
    wanted = {thread_id for _, thread_id in latest.values()} | {target for target, _ in latest}
    titles = dict(db.session.execute(select(Thread.id, Thread.title).where(
        Thread.id.in_(wanted), Thread.visible)).all()) if wanted else {}
    touched = evidence.delete_votes(SearchEvidence.source == SOURCE)
    written = 0
    for (target_id, visitor), (at, thread_id) in sorted(latest.items()):
        if target_id in titles and thread_id in titles and evidence.vote(
                target_id, evidence.visitor_voter(visitor), SOURCE, titles[thread_id], at):
            written += 1
            touched.add(target_id)
    return Rebuilt(written, touched)
