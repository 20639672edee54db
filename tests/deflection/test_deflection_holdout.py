"""The randomized holdout: assignment, what each arm sees, contact attribution, the interval.

The pages and the API through HTTP; the interval's coverage by a seeded simulation on
plain counts (200 runs of 4,000 sessions), which is a statistical check, not a timing.
"""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from community.extensions import db
from community.models import AskSession
from community.services.deflection import holdout
from tests.deflection.conftest import T0, minutes


def test_newcombe_hybrid_score_interval_matches_the_paper():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 - 48/80.
    d, low, high = holdout.newcombe(56, 70, 48, 80)
    assert (round(d, 4), round(low, 4), round(high, 4)) == (0.2, 0.0524, 0.3339)
    # (f) 0/10 - 0/20: the interval still has width
    _, low, high = holdout.newcombe(0, 10, 0, 20)
    assert (round(low, 4), round(high, 4)) == (-0.1611, 0.2775)


def simulate(rng, *, sessions, share, p_holdout, p_suggestions):
    counts = holdout.ArmCounts()
    for _ in range(sessions):
        arm = "holdout" if rng.random() < share else "suggestions"
        p = p_holdout if arm == "holdout" else p_suggestions
        counts.add(arm, rng.random() < p)
    return holdout.compare(counts, cost=25.0, min_holdout=100, share=share)


@pytest.mark.parametrize("p_holdout, p_suggestions", [(0.30, 0.22), (0.25, 0.25)])
def test_the_interval_covers_the_truth_in_at_least_180_of_200_seeded_runs(p_holdout, p_suggestions):
    rng = random.Random(20261201)
    truth = p_holdout - p_suggestions
    covered = 0
    for _ in range(200):
        r = simulate(rng, sessions=4000, share=0.05, p_holdout=p_holdout, p_suggestions=p_suggestions)
        low, high = r["incremental_effect_ci95"]
        covered += low <= truth <= high
    assert covered >= 180


def test_report_fields_with_and_without_enough_holdout_data():
    few = holdout.compare(holdout.ArmCounts(99, 30, 1900, 400), cost=25.0, min_holdout=100, share=0.05)
    assert few["enough_holdout_data"] is False
    assert (few["holdout_contact_rate"], few["suggestion_contact_rate"]) == (round(30 / 99, 4), round(400 / 1900, 4))
    assert all(few[k] is None for k in ("incremental_effect", "incremental_effect_ci95", "contacts_avoided",
                                        "contacts_avoided_ci95", "savings_ci95"))
    enough = holdout.compare(holdout.ArmCounts(70, 56, 80, 48), cost=10.0, min_holdout=70, share=0.05)
    assert enough["incremental_effect"] == 0.2 and enough["incremental_effect_ci95"] == [0.0524, 0.3339]
    assert enough["contacts_avoided"] == 16.0 and enough["contacts_avoided_ci95"] == [4.2, 26.7]
    assert enough["savings_ci95"] == [41.95, 267.1]


def test_holdout_sessions_see_no_suggestions_anywhere(site):
    thread = site.thread("How do I reset my password on the mobile app?",
                         "The reset link in the app does nothing when I tap it.")
    site.app.config["DEFLECTION_HOLDOUT"] = 1.0  # every new session is held out
    visitor = site.visitor()
    page = visitor.get("/ask?title=reset+password+mobile").data.decode()
    assert 'data-arm="holdout"' in page and "suggest-panel" not in page and thread.title not in page
    sid = visitor.open_page("/support/contact?subject=reset+password+mobile")
    contact = visitor.get("/support/contact?subject=reset+password+mobile").data.decode()
    assert 'data-arm="holdout"' in contact and f'data-ask-session="{sid}"' in contact
    assert "suggest-panel" not in contact
    assert visitor.suggest(sid, "reset password mobile") == {"results": [], "holdout": True}
    site.app.config["DEFLECTION_HOLDOUT"] = 0.0  # the arm was assigned once: it stays
    assert visitor.suggest(sid, "reset password mobile") == {"results": [], "holdout": True}
    other = site.visitor()
    page = other.get("/ask?title=reset+password+mobile").data.decode()
    assert 'data-arm="suggestions"' in page and thread.title in page


def test_contacts_are_attributed_to_the_latest_earlier_session_within_the_window(site):
    category = site.category()
    site.app.config["DEFLECTION_HOLDOUT"] = 1.0
    a = site.visitor()
    a.login(site.user())
    old = a.open_page()                                   # day 0, 09:00: holdout
    site.app.config["DEFLECTION_HOLDOUT"] = 0.0
    b = site.visitor()
    b_sid = b.open_page("/support/contact")               # suggestions arm, contacts at once
    assert b.contact(b_sid).status_code == 302
    late = site.visitor()
    late.login(site.user())
    late_sid = late.open_page()                           # suggestions arm, posts 8 days later
    site.visitor().open_page()                            # suggestions arm, never contacts
    site.app.config["DEFLECTION_HOLDOUT"] = 1.0
    site.at(T0 + timedelta(days=1))
    newer = a.open_page()                                 # day 1: a new session (after 30 min)
    assert newer != old
    site.at(T0 + timedelta(days=2))
    assert a.post_question(old, category).status_code == 302  # the old form, sent on day 2
    site.at(T0 + timedelta(days=8))
    assert late.post_question(late_sid, category).status_code == 302
    site.app.config["DEFLECTION_MIN_HOLDOUT"] = 1
    day0 = site.report(now=T0 + timedelta(days=9))
    assert (day0["holdout_sessions"], day0["holdout_contact_rate"]) == (1, 0.0)   # old: not the latest
    assert (day0["suggestion_sessions"], day0["suggestion_contact_rate"]) == (3, round(1 / 3, 4))
    day1 = site.report(start=(T0 + timedelta(days=1)).date(), end=(T0 + timedelta(days=1)).date(),
                       now=T0 + timedelta(days=9))
    assert (day1["holdout_sessions"], day1["holdout_contact_rate"]) == (1, 1.0)  # newer took it
    site.app.config["DEFLECTION_WINDOW_DAYS"] = 9
    assert site.report(now=T0 + timedelta(days=9))["suggestion_contact_rate"] == round(2 / 3, 4)


def test_analytics_leads_with_the_sentence_or_says_not_enough_data(site):
    staff = site.user(role="agent")
    browser = site.visitor()
    browser.login(staff)
    page = browser.get("/analytics?from=2026-03-02&to=2026-03-02").data.decode()
    assert "Not enough data yet" in page and "of the 100 holdout sessions" in page
    site.app.config["DEFLECTION_MIN_HOLDOUT"] = 1
    site.app.config["DEFLECTION_HOLDOUT"] = 1.0
    held = site.visitor()
    sid = held.open_page("/support/contact")
    held.contact(sid)
    site.app.config["DEFLECTION_HOLDOUT"] = 0.0
    for _ in range(3):
        site.visitor().open_page()
    site.at(minutes(60))
    page = browser.get("/analytics?from=2026-03-02&to=2026-03-02").data.decode()
    assert "Suggestions prevented between" in page and "95&nbsp;% confidence" in page


def test_metrics_api_has_the_holdout_fields(site):
    from community.services.accounts import users

    staff = site.user(role="agent")
    token = users.issue_token(staff)
    db.session.commit()
    body = site.app.test_client().get("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02",
                                      headers={"Authorization": f"Bearer {token}"}).get_json()
    for key in ("holdout_share", "holdout_sessions", "holdout_contact_rate", "suggestion_sessions",
                "suggestion_contact_rate", "incremental_effect", "incremental_effect_ci95",
                "contacts_avoided", "contacts_avoided_ci95", "savings_ci95"):
        assert key in body
    assert body["incremental_effect_ci95"] is None and body["holdout_sessions"] == 0


def test_holdout_assignment_is_the_configured_share_at_page_load(site):
    from community.services.deflection.ask_sessions import arm_for

    site.app.config["DEFLECTION_HOLDOUT"] = 0.05
    ids = [f"{i:032x}" for i in range(20000)]
    share = sum(arm_for(i) == "holdout" for i in ids) / len(ids)
    assert abs(share - 0.05) < 0.006
    sessions = [db.session.get(AskSession, site.visitor().open_page(beacon=False)) for _ in range(15)]
    assert all(s.arm == arm_for(s.id) for s in sessions)
