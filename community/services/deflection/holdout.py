"""The randomized holdout: how many contacts suggestions really prevented, with a 95 % interval.

A share of ask sessions (``DEFLECTION_HOLDOUT``) is shown no suggestions.  Every session
assigned counts in its arm (intention to treat).  A session *contacted* when its visitor
(the cookie, or the logged-in user) posted a question or a support request within
``DEFLECTION_WINDOW_DAYS`` after it started; a contact counts for the latest earlier
session of that visitor only.  The effect is holdout rate − suggestions rate, with
Newcombe's hybrid score interval (method 10, from two Wilson intervals).
Pure functions on plain values, so that the simulation test runs on arrays.
"""
from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from .outcomes import fails

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (``(0, 1)`` when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """``(d, low, high)`` for d = x1/n1 − x2/n2 (Newcombe 1998, hybrid score, method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


@dataclass
class ArmCounts:
    holdout_sessions: int = 0
    holdout_contacts: int = 0
    suggestion_sessions: int = 0
    suggestion_contacts: int = 0

    def add(self, arm: str, contacted: bool) -> None:
        if arm == "holdout":
            self.holdout_sessions += 1
            self.holdout_contacts += contacted
        else:
            self.suggestion_sessions += 1
            self.suggestion_contacts += contacted


def compare(counts: ArmCounts, *, cost: float, min_holdout: int, share: float) -> dict:
    """The API's holdout fields; effect, intervals and savings ``None`` below ``min_holdout``."""
    h, s = counts.holdout_sessions, counts.suggestion_sessions
    result = {
        "holdout_share": share, "holdout_sessions": h, "holdout_contacts": counts.holdout_contacts,
        "holdout_contact_rate": _rate(counts.holdout_contacts, h),
        "suggestion_sessions": s, "suggestion_contacts": counts.suggestion_contacts,
        "suggestion_contact_rate": _rate(counts.suggestion_contacts, s),
        "min_holdout": min_holdout, "enough_holdout_data": h >= max(1, min_holdout) and s > 0,
        "incremental_effect": None, "incremental_effect_ci95": None, "contacts_avoided": None,
        "contacts_avoided_ci95": None, "savings": None, "savings_ci95": None,
    }
    if not result["enough_holdout_data"]:
        return result
    d, low, high = newcombe(counts.holdout_contacts, h, counts.suggestion_contacts, s)
    avoided = [d * s, low * s, high * s]
    result.update(
        incremental_effect=round(d, 4), incremental_effect_ci95=[round(low, 4), round(high, 4)],
        contacts_avoided=round(avoided[0], 1), contacts_avoided_ci95=[round(avoided[1], 1), round(avoided[2], 1)],
        savings=round(avoided[0] * cost, 2), savings_ci95=[round(avoided[1] * cost, 2), round(avoided[2] * cost, 2)])
    return result


def _rate(x: int, n: int) -> float | None:
    return round(x / n, 4) if n else None


@dataclass(frozen=True)
class Visit:
    """One session as attribution sees it."""

    id: str
    visitor_id: str
    user_id: int | None
    started_at: datetime


def attribute_contacts(visits: list[Visit], contacts: list[tuple[datetime, str, int | None]],
                       window: timedelta) -> set[str]:
    """Ids of the sessions that contacted.

    Each contact ``(at, visitor_id, user_id)`` goes to the latest session of that visitor
    (same cookie, or same user) that started at or before ``at`` and at most ``window``
    before it; a contact with no such session counts for none.
    """
    by_key: dict[tuple, list[Visit]] = defaultdict(list)
    for visit in visits:
        by_key[("v", visit.visitor_id)].append(visit)
        if visit.user_id:
            by_key[("u", visit.user_id)].append(visit)
    for group in by_key.values():
        group.sort(key=lambda v: (v.started_at, v.id))
    starts = {key: [v.started_at for v in group] for key, group in by_key.items()}
    contacted: set[str] = set()
    for at, visitor_id, user_id in contacts:
        best = None
        for key in (("v", visitor_id), ("u", user_id)):
            if key[1] is None or key not in by_key:
                continue
            i = bisect.bisect_right(starts[key], at) - 1
            if i >= 0 and at - starts[key][i] <= window:
                candidate = by_key[key][i]
                if best is None or (candidate.started_at, candidate.id) > (best.started_at, best.id):
                    best = candidate
        if best is not None:
            contacted.add(best.id)
    return contacted


def later_contact(visit: Visit, since: datetime, contacts_by_visitor: dict, window: timedelta) -> bool:
    """Whether the visitor contacted after ``since`` and within ``window`` of it (a deflection failed)."""
    keys = [("v", visit.visitor_id)] + ([("u", visit.user_id)] if visit.user_id else [])
    return any(fails(since, at, window) for key in keys for at in contacts_by_visitor.get(key, ()))
