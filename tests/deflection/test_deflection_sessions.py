"""The session and recording rules at their boundaries, and the holdout's arithmetic at its edges.

Sessions through HTTP (the pages, the beacon, the suggest API, the forms); the interval and the
attribution of contacts on plain values, where the edge cases (no sessions, exactly seven days,
one holdout session) are cheaper to state than to script.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from community.extensions import db
from community.models import AskEvent, AskSession
from community.services.deflection import ask_sessions, holdout
from tests.deflection.conftest import T0, minutes


def test_reopening_exactly_thirty_minutes_after_the_last_activity_continues_the_session(site):
    visitor = site.visitor()
    first = visitor.open_page()
    site.at(minutes(30))
    assert visitor.open_page() == first                 # 30 minutes: still the same session
    site.at(minutes(60) + timedelta(seconds=1))
    assert visitor.open_page() != first                 # 30 minutes and a second: a new one
    assert db.session.get(AskSession, first).last_activity_at == minutes(30)


def test_the_session_length_is_the_setting_s(site):
    """``DEFLECTION_SESSION_MINUTES`` decides when a reopened page starts a new session (kills
    ask_sessions.x_session_minutes__mutmut_7, which read a misspelt key and so always 30)."""
    site.app.config["DEFLECTION_SESSION_MINUTES"] = 10
    visitor = site.visitor()
    first = visitor.open_page()
    site.at(minutes(10))
    assert visitor.open_page() == first                 # 10 minutes: still the same session
    site.at(minutes(25))
    assert visitor.open_page() != first                 # 15 minutes: a new one, though under 30


def test_the_visitor_s_own_open_session_wins_over_the_account_s_on_another_device(site):
    member = site.user()
    phone = site.visitor()
    phone.login(member)
    on_phone = phone.open_page()
    site.at(minutes(1))
    laptop = site.visitor()
    on_laptop = laptop.open_page()                      # anonymous: its own session
    assert on_laptop != on_phone
    site.at(minutes(2))
    laptop.login(member)
    assert laptop.open_page() == on_laptop              # the cookie's session, now with the user
    assert db.session.get(AskSession, on_laptop).user_id == member.id
    assert phone.open_page() == on_phone


def test_the_first_beacon_is_kept_and_a_late_event_never_moves_activity_back(site):
    visitor = site.visitor()
    sid = visitor.open_page(beacon=False)
    site.at(minutes(5))
    assert visitor.post("/ask/beacon", {"session": sid}).status_code == 200
    site.at(minutes(10))
    assert visitor.post("/ask/beacon", {"session": sid}).status_code == 200
    session = db.session.get(AskSession, sid)
    assert (session.beacon_at, session.last_activity_at) == (minutes(5), minutes(10))
    ask_sessions.record_event(sid, "still_need_help", at=minutes(7))   # an event that arrives late
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(AskSession, sid).last_activity_at == minutes(10)
    stranger = site.visitor()
    stranger.get("/ask")
    assert stranger.post("/ask/beacon", {"session": sid}).status_code == 404
    assert db.session.get(AskSession, sid).beacon_at == minutes(5)


def test_what_a_session_records_of_its_searches(site):
    thread = site.thread("How do I reset my password on the mobile app?",
                         "The reset link in the app does nothing when I tap it.")
    visitor = site.visitor()
    sid = visitor.open_page()
    visitor.suggest(sid, "  Reset%09my   PASSWORD!!  ")   # a tab between two words
    visitor.suggest(sid, "reset my password")            # the same normalized query: not again
    visitor.suggest(sid, "zzqx wvvk")                     # nothing found: recorded with no result
    rows = db.session.execute(db.select(AskEvent.query, AskEvent.normalized_query, AskEvent.result_ids,
                                        AskEvent.result_count).where(AskEvent.session_id == sid)
                              .order_by(AskEvent.id)).all()
    assert [tuple(r) for r in rows] == [("Reset my PASSWORD!!", "reset my password", [f"thread:{thread.id}"], 1),
                                        ("zzqx wvvk", "zzqx wvvk", [], 0)]
    assert ask_sessions.session_queries(sid) == ["Reset my PASSWORD!!", "zzqx wvvk"]
    assert ask_sessions.last_query(sid) == "zzqx wvvk"
    assert ask_sessions.suggested_keys(sid) == {f"thread:{thread.id}"}


def test_an_anonymous_draft_keeps_every_field_typed_bounded(site):
    category = site.category()
    visitor = site.visitor()
    sid = visitor.open_page()
    response = visitor.post("/ask", {"ask_session": sid, "title": "Sync fails on my tablet every night",
                                     "body": "B" * 6000, "tags": "sync tablet", "category_id": category.id,
                                     "js": "1"})
    assert response.status_code == 302 and "/login" in response.location
    draft = db.session.get(AskSession, sid).draft
    assert draft == {"title": "Sync fails on my tablet every night", "body": "B" * 5000, "tags": "sync tablet",
                     "category_id": str(category.id)}


def test_assignment_is_sha256_of_salt_and_id_read_as_a_fraction():
    """The documented rule, computed another way (hex digits instead of bytes)."""
    from community import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    ids = [hashlib.md5(str(i).encode()).hexdigest() for i in range(3000)]
    with app.app_context():
        arms = [ask_sessions.arm_for(i, share=0.05, salt="pinned") for i in ids]
        app.config.update(DEFLECTION_HOLDOUT=0.05, DEFLECTION_HOLDOUT_SALT="pinned")
        assert [ask_sessions.arm_for(i) for i in ids] == arms
        assert ask_sessions.arm_for(ids[0], share=-1) == "suggestions"
    expected = ["holdout" if int(hashlib.sha256(f"pinned:{i}".encode()).hexdigest()[:16], 16) / 2 ** 64 < 0.05
                else "suggestions" for i in ids]
    assert arms == expected and 100 < arms.count("holdout") < 200


def test_wilson_and_newcombe_at_the_edges():
    assert holdout.wilson(0, 0) == (0.0, 1.0)
    low, high = holdout.wilson(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    low, high = holdout.wilson(10, 10)
    assert (round(low, 4), round(high, 4)) == (0.7225, 1.0)
    assert [round(v, 4) for v in holdout.wilson(3, 10)] == [0.1078, 0.6032]
    assert [round(v, 4) for v in holdout.wilson(1, 1)] == [0.2065, 1.0]
    assert [round(v, 4) for v in holdout.wilson(0, 1)] == [0.0, 0.7935]
    # the interval stays inside [0, 1] where floating point would step over it
    assert holdout.wilson(16, 16)[1] == 1.0 and holdout.wilson(0, 21)[0] == 0.0
    z99 = 2.5758293035489
    assert [round(v, 4) for v in holdout.wilson(3, 10, z99)] == [0.0796, 0.68]
    assert [round(v, 4) for v in holdout.newcombe(56, 70, 48, 80, z99)] == [0.2, 0.0054, 0.3718]
    d, low, high = holdout.newcombe(5, 10, 2, 10)
    assert (round(d, 4), round(low, 4), round(high, 4)) == (0.3, -0.1067, 0.5999)


def test_the_causal_figure_needs_both_arms_and_enough_holdout_sessions():
    none = ("incremental_effect", "incremental_effect_ci95", "contacts_avoided", "contacts_avoided_ci95",
            "savings", "savings_ci95")
    empty = holdout.compare(holdout.ArmCounts(150, 30, 0, 0), cost=10.0, min_holdout=100, share=1.0)
    assert empty["enough_holdout_data"] is False and all(empty[k] is None for k in none)
    assert (empty["holdout_contact_rate"], empty["suggestion_contact_rate"]) == (0.2, None)
    one = holdout.compare(holdout.ArmCounts(1, 1, 3, 0), cost=10.0, min_holdout=1, share=0.5)
    assert one["enough_holdout_data"] is True and one["incremental_effect"] == 1.0
    zero = holdout.compare(holdout.ArmCounts(1, 1, 3, 0), cost=10.0, min_holdout=0, share=0.5)
    assert zero["enough_holdout_data"] is True
    nobody = holdout.compare(holdout.ArmCounts(0, 0, 3, 1), cost=10.0, min_holdout=0, share=0.5)
    assert nobody["enough_holdout_data"] is False and nobody["holdout_contact_rate"] is None
    r = holdout.compare(holdout.ArmCounts(100, 30, 900, 180), cost=20.0, min_holdout=100, share=0.1)
    assert (r["holdout_contacts"], r["suggestion_contacts"], r["min_holdout"], r["holdout_share"]) == (30, 180, 100, 0.1)
    assert r["incremental_effect"] == 0.1 and r["incremental_effect_ci95"] == [0.0144, 0.199]
    assert r["contacts_avoided"] == 90.0 and r["contacts_avoided_ci95"] == [13.0, 179.1]
    assert r["savings"] == 1800.0 and r["savings_ci95"] == [260.06, 3582.24]


def test_a_contact_goes_to_the_latest_session_that_started_at_most_seven_days_before():
    week = timedelta(days=7)
    a1 = holdout.Visit("a1", "va", None, T0)
    a2 = holdout.Visit("a2", "va", None, T0 + timedelta(days=2))
    b1 = holdout.Visit("b1", "vb", 7, T0)
    b2 = holdout.Visit("b2", "vb-phone", 7, T0 + timedelta(hours=1))
    c1 = holdout.Visit("c1", "vc", None, T0)
    visits = [a2, a1, b2, b1, c1]
    assert holdout.attribute_contacts(visits, [(T0 + timedelta(days=1), "va", None)], week) == {"a1"}
    assert holdout.attribute_contacts(visits, [(T0 + timedelta(days=3), "va", None)], week) == {"a2"}
    assert holdout.attribute_contacts(visits, [(T0, "va", None)], week) == {"a1"}             # at the start
    assert holdout.attribute_contacts(visits, [(T0 - timedelta(seconds=1), "va", None)], week) == set()
    assert holdout.attribute_contacts(visits, [(T0 + week, "vc", None)], week) == {"c1"}        # exactly 7 days
    assert holdout.attribute_contacts(visits, [(T0 + week + timedelta(seconds=1), "vc", None)], week) == set()
    # the cookie's session and the user's other device: the later of the two
    assert holdout.attribute_contacts(visits, [(T0 + timedelta(hours=2), "vb", 7)], week) == {"b2"}
    assert holdout.attribute_contacts(visits, [(T0 + timedelta(hours=2), "vb", None)], week) == {"b1"}
    assert holdout.attribute_contacts(visits, [(T0 + timedelta(hours=2), "unknown", 7)], week) == {"b2"}
    assert holdout.attribute_contacts(visits, [(T0 + timedelta(hours=2), "unknown", None)], week) == set()
    tie = [holdout.Visit("t1", "vt", 9, T0), holdout.Visit("t2", "vt-2", 9, T0)]
    assert holdout.attribute_contacts(tie, [(T0, "vt", 9)], week) == {"t2"}                  # same start: by id


def test_a_deflection_fails_on_a_contact_after_it_and_within_the_window():
    week = timedelta(days=7)
    visit = holdout.Visit("s", "v", 5, T0)
    by_visitor = {("v", "v"): [T0 + week], ("u", 5): [T0 + timedelta(days=3)]}
    assert holdout.later_contact(visit, T0, {("v", "v"): [T0 + week]}, week) is True
    assert holdout.later_contact(visit, T0, {("v", "v"): [T0 + week + timedelta(seconds=1)]}, week) is False
    assert holdout.later_contact(visit, T0, {("v", "v"): [T0]}, week) is True            # at the same instant
    assert holdout.later_contact(visit, T0, {("v", "v"): [T0 - timedelta(microseconds=1)]}, week) is False
    assert holdout.later_contact(visit, T0, {("u", 5): [T0 + timedelta(days=3)]}, week) is True
    assert holdout.later_contact(holdout.Visit("s", "v", None, T0), T0, {("u", 5): [T0 + timedelta(days=3)]},
                                 week) is False
    assert holdout.later_contact(visit, T0 + timedelta(days=4), by_visitor, week) is True


def test_what_was_typed_is_kept_until_the_question_is_posted_then_nothing_is(site):
    """An anonymous submit keeps the draft; once the question is posted the session keeps none
    (``null`` in the member's data export, not an empty value)."""
    import json

    category = site.category()
    member = site.user("writer")
    visitor = site.visitor()
    sid = visitor.open_page()
    title = "My phone app will not sync my notes at all"
    assert visitor.post("/ask", {"ask_session": sid, "title": title, "body": "Since the update.", "tags": "",
                                 "category_id": category.id, "js": "1"}).status_code == 302
    visitor.login(member)
    assert visitor.open_page() == sid and title in visitor.get("/ask").get_data(as_text=True)
    assert visitor.post_question(sid, category, title=title).status_code == 302
    export = json.loads(visitor.get("/settings/data/export").get_data(as_text=True))
    assert [(s["id"], s["draft"]) for s in export["ask_sessions"]] == [(sid, None)]
    assert [e["kind"] for e in export["ask_events"]] == ["suggestions_shown", "question_posted"]
