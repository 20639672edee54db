"""Roll-ups, the previous period and the content-type split on plain rows (docs/metrics.md,
"Breakdowns"): the sums, the rates recomputed from the sums, the edges of weeks and months."""
from __future__ import annotations

from datetime import date

from community.services.deflection import breakdowns
from community.services.deflection.outcomes import Outcome

SUMMED = breakdowns.SUMMED


def day(iso, **counts):
    row = {key: 0 for key in SUMMED}
    row.update(counts)
    return {"date": iso, **row}


def test_weeks_start_on_monday_months_on_the_first_and_rates_come_from_the_sums():
    daily = [day("2026-03-29", sessions=4, sessions_with_suggestions=4, confirmed_deflections=1,
                 holdout_sessions=2, holdout_contacts=1, questions=2, answered=1, solved=1),   # a Sunday
             day("2026-03-30", sessions=6, sessions_with_suggestions=1, confirmed_deflections=1,
                 inferred_deflections=0, suggestion_sessions=6, suggestion_contacts=3, questions=1),
             day("2026-04-01", sessions=1, sessions_with_suggestions=0, held_deflections=None)]
    rolled = breakdowns.rollups(daily)
    weekly, monthly = rolled["weekly"], rolled["monthly"]
    assert [w["period_start"] for w in weekly] == ["2026-03-23", "2026-03-30"]
    assert [m["period_start"] for m in monthly] == ["2026-03-01", "2026-04-01"]
    assert (weekly[1]["sessions"], weekly[1]["confirmed_deflections"], weekly[1]["held_deflections"]) == (7, 1, 0)
    march = monthly[0]
    assert (march["sessions"], march["sessions_with_suggestions"], march["confirmed_deflections"]) == (10, 5, 2)
    assert march["deflection_rate"] == 0.4            # 2 / 5 from the sums, not the mean of 0.25 and 1.0
    assert march["deflection_rate_with_inferred"] == 0.4
    assert (march["holdout_contact_rate"], march["suggestion_contact_rate"]) == (0.5, 0.5)
    assert (march["answered_rate"], march["solved_rate"]) == (round(1 / 3, 4), round(1 / 3, 4))
    april = monthly[1]
    assert (april["deflection_rate"], april["holdout_contact_rate"], april["answered_rate"]) == (None, None, None)
    assert set(april) == {"period_start", *SUMMED, "deflection_rate", "deflection_rate_with_inferred",
                          "holdout_contact_rate", "suggestion_contact_rate", "answered_rate", "solved_rate"}
    assert all(isinstance(april[key], int) for key in SUMMED)


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    assert breakdowns.previous_range(date(2026, 3, 2), date(2026, 3, 8)) == (date(2026, 2, 23), date(2026, 3, 1))
    assert breakdowns.previous_range(date(2026, 3, 1), date(2026, 3, 1)) == (date(2026, 2, 28), date(2026, 2, 28))
    current = {"from": "2026-03-02", "sessions": 10, "deflection_rate": 0.33333, "held_deflections": 3,
               "estimated_savings_held": 75.0}
    previous = {"from": "2026-02-23", "to": "2026-03-01", "sessions": 4, "deflection_rate": None,
                "held_deflections": 5, "estimated_savings_held": 125.0, "confirmed_deflections": 2}
    c = breakdowns.comparison(current, previous)
    assert (c["from"], c["to"], c["sessions"], c["confirmed_deflections"]) == ("2026-02-23", "2026-03-01", 4, 2)
    assert c["change"]["sessions"] == 6 and c["change"]["held_deflections"] == -2
    assert c["change"]["estimated_savings_held"] == -50.0
    assert c["change"]["deflection_rate"] is None and c["change"]["confirmed_deflections"] is None
    assert breakdowns.comparison({**current, "deflection_rate": None}, {**previous, "deflection_rate": 0.5})[
        "change"]["deflection_rate"] is None
    assert breakdowns.comparison(current, {**previous, "deflection_rate": 0.11111})["change"]["deflection_rate"] == 0.2222
    assert set(c["change"]) == set(breakdowns.COMPARED)


def test_deflections_by_what_they_credit():
    outcomes = [Outcome(True, confirmed=True, credited_thread_id=1),
                Outcome(True, inferred=True, credited_thread_id=2, failed=True),
                Outcome(True, confirmed=True, credited_article_id=3, failed=True),
                Outcome(True, inferred=True, credited_article_id=3),
                Outcome(True, inferred=True),                            # ideas only: credits nothing
                Outcome(True, pending=True, credited_thread_id=1)]       # not a deflection
    split = breakdowns.by_content_type([(None, o) for o in outcomes])
    assert split == {"thread": {"confirmed": 1, "inferred": 1, "held": 1, "failed": 1},
                     "article": {"confirmed": 1, "inferred": 1, "held": 1, "failed": 1}}
    assert breakdowns.by_content_type([]) == {"thread": {"confirmed": 0, "inferred": 0, "held": 0, "failed": 0},
                                              "article": {"confirmed": 0, "inferred": 0, "held": 0, "failed": 0}}


def test_breakdown_rows_rank_by_deflections_then_name():
    from collections import Counter

    rows = breakdowns._rows({"b": Counter(confirmed=1, inferred=1, held=2), "a": Counter(confirmed=2, failed=2),
                             "c": Counter(inferred=3, held=1, failed=2)}, "tag")
    assert rows == [{"tag": "c", "deflections": 3, "confirmed": 0, "inferred": 3, "held": 1, "failed": 2},
                    {"tag": "a", "deflections": 2, "confirmed": 2, "inferred": 0, "held": 0, "failed": 2},
                    {"tag": "b", "deflections": 2, "confirmed": 1, "inferred": 1, "held": 2, "failed": 0}]
