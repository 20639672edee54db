"""The rules of one session (``outcomes.classify``) and the exclusions, on plain facts.

The HTTP tests script these through the pages; here the contract of the pure functions is
pinned at its edges, including facts HTTP cannot produce (two confirmations in one session,
which the guarded UPDATE prevents), so that the rules hold whatever feeds them.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from community.services.deflection.outcomes import Outcome, SessionFacts, classify, mark_exclusions

T = datetime(2026, 3, 2, 9, 0)
W = timedelta(minutes=30)
LATER = T + timedelta(days=1)


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def facts(*events, sid="s", address="a", beacon=T) -> SessionFacts:
    f = SessionFacts(id=sid, started_at=T, address_key=address, beacon_at=beacon)
    for kind, when, *rest in events:
        extra = rest[0] if rest else {}
        f.add(kind, at(when), **extra)
    return f


SHOWN = ("suggestions_shown", 0, {"result_count": 2})


def test_what_counts_as_a_session_with_suggestions():
    assert classify(facts(("suggestions_shown", 0, {"result_count": 0})), now=LATER, window=W).with_suggestions is False
    assert classify(facts(("suggestions_shown", 0, {"result_count": None})), now=LATER, window=W).with_suggestions is False
    assert classify(facts(("suggestions_shown", 0, {"result_count": 1})), now=LATER, window=W).with_suggestions is True
    never = classify(facts(("suggestion_opened", 1, {"thread_id": 1}), ("confirmed", 2, {"thread_id": 1})),
                     now=LATER, window=W)
    assert (never.with_suggestions, never.confirmed, never.inferred) == (False, False, False)
    f = facts(SHOWN, ("still_need_help", 1, {"thread_id": 1}))
    assert f.still_need_help is True and f.opens == [] and f.confirms == [] and f.contacts == []


def test_the_first_confirmation_counts_and_a_contact_at_or_after_it_undoes_it():
    two = facts(SHOWN, ("suggestion_opened", 1, {"thread_id": 6}), ("confirmed", 9, {"thread_id": 5}),
                ("confirmed", 3, {"thread_id": 6}))       # the first is not the smallest thread id
    o = classify(two, now=LATER, window=W)
    assert (o.confirmed, o.inferred, o.credited_thread_id, o.at) == (True, False, 6, at(3))
    same_moment = facts(SHOWN, ("confirmed", 3, {"thread_id": 5}), ("support_request", 3))
    assert classify(same_moment, now=LATER, window=W).confirmed is False
    just_before = facts(SHOWN, ("question_posted", 2.99), ("confirmed", 3, {"thread_id": 5}))
    o = classify(just_before, now=LATER, window=W)
    assert o.confirmed is True and o.inferred is False
    after_second = facts(SHOWN, ("confirmed", 3, {"thread_id": 5}), ("confirmed", 9, {"thread_id": 6}),
                         ("support_request", 5))
    o = classify(after_second, now=LATER, window=W)
    assert (o.confirmed, o.inferred, o.pending, o.at, o.credited_thread_id) == (False, False, False, None, None)


def test_an_article_confirmation_credits_the_article():
    o = classify(facts(SHOWN, ("confirmed", 3, {"article_id": 8})), now=LATER, window=W)
    assert (o.confirmed, o.credited_thread_id, o.credited_article_id) == (True, None, 8)


def test_inferred_from_the_first_opening_to_the_window_after_the_last():
    opens = [("suggestion_opened", 1, {"thread_id": 1}), ("suggestion_opened", 10, {"thread_id": 2})]
    for contact_at, inferred in ((0.5, True), (1, False), (25, False), (40, False), (40.01, True)):
        o = classify(facts(SHOWN, *opens, ("question_posted", contact_at)), now=LATER, window=W)
        assert o.inferred is inferred, contact_at
    o = classify(facts(SHOWN, *opens), now=LATER, window=W)
    assert (o.inferred, o.at, o.credited_thread_id, o.credited_article_id) == (True, at(10), 2, None)
    assert classify(facts(SHOWN), now=LATER, window=W).inferred is False


def test_pending_until_the_window_has_fully_elapsed():
    f = facts(SHOWN, ("suggestion_opened", 1, {"thread_id": 1}))
    running = classify(f, now=at(30.99), window=W)
    assert (running.pending, running.inferred, running.at, running.credited_thread_id) == (True, False, None, None)
    done = classify(f, now=at(31), window=W)
    assert (done.pending, done.inferred) == (False, True)


def test_credit_goes_to_the_last_thread_or_article_opened_never_an_idea():
    f = facts(SHOWN, ("suggestion_opened", 1, {"thread_id": 1}), ("suggestion_opened", 2, {"article_id": 7}),
              ("suggestion_opened", 3, {"idea_id": 4}))
    o = classify(f, now=LATER, window=W)
    assert (o.credited_thread_id, o.credited_article_id, o.at) == (None, 7, at(3))
    ideas_only = classify(facts(SHOWN, ("suggestion_opened", 1, {"idea_id": 4})), now=LATER, window=W)
    assert (ideas_only.inferred, ideas_only.credited_thread_id, ideas_only.credited_article_id) == (True, None, None)
    unordered = facts(SHOWN, ("suggestion_opened", 5, {"thread_id": 2}), ("suggestion_opened", 1, {"thread_id": 1}))
    assert classify(unordered, now=LATER, window=W).credited_thread_id == 2


def test_deflected_is_confirmed_or_inferred():
    assert Outcome(True).deflected is False
    assert Outcome(True, confirmed=True).deflected is True
    assert Outcome(True, inferred=True).deflected is True
    assert Outcome(True, pending=True).deflected is False


def classified(*sessions):
    return [(f, classify(f, now=LATER, window=W)) for f in sessions]


def confirmed_session(sid, minute, *, address="a", beacon=T):
    return facts(SHOWN, ("suggestion_opened", minute, {"thread_id": 1}), ("confirmed", minute, {"thread_id": 1}),
                 sid=sid, address=address, beacon=beacon)


def test_no_script_excludes_deflections_only_and_only_while_automated_traffic_is_excluded():
    pairs = classified(confirmed_session("c", 1, beacon=None), facts(SHOWN, sid="plain", beacon=None),
                       facts(SHOWN, ("suggestion_opened", 1, {"thread_id": 1}), sid="i", beacon=None),
                       confirmed_session("ok", 2))
    mark_exclusions(pairs, exclude_automated=True, cap_per_hour=20)
    assert [o.excluded for _, o in pairs] == ["no_script", None, "no_script", None]
    pairs = classified(confirmed_session("c", 1, beacon=None))
    mark_exclusions(pairs, exclude_automated=False, cap_per_hour=20)
    assert pairs[0][1].excluded is None


def test_the_hourly_cap_per_address_takes_confirmations_in_time_order():
    sessions = [confirmed_session(f"s{n:02}", 50 - n) for n in range(4)]          # 09:50, 09:49, 09:48, 09:47
    sessions += [confirmed_session("other", 50, address="b"), confirmed_session("next-hour", 60)]
    sessions += [confirmed_session("scriptless", 10, beacon=None)]                  # excluded first: not counted
    pairs = classified(*sessions)
    mark_exclusions(pairs, exclude_automated=True, cap_per_hour=2)
    assert {f.id: o.excluded for f, o in pairs} == {
        "s00": "address_cap", "s01": "address_cap", "s02": None, "s03": None, "other": None, "next-hour": None,
        "scriptless": "no_script"}
    pairs = classified(*sessions[:4])
    mark_exclusions(pairs, exclude_automated=True, cap_per_hour=0)                  # 0: no cap
    assert [o.excluded for _, o in pairs] == [None] * 4
    ties = classified(confirmed_session("b", 5), confirmed_session("a", 5))
    mark_exclusions(ties, exclude_automated=True, cap_per_hour=1)
    assert {f.id: o.excluded for f, o in ties} == {"a": None, "b": "address_cap"}
    inferred = classified(*[facts(SHOWN, ("suggestion_opened", 1, {"thread_id": 1}), sid=f"i{n}") for n in range(3)])
    mark_exclusions(inferred, exclude_automated=True, cap_per_hour=1)               # the cap is for confirmations
    assert [o.excluded for _, o in inferred] == [None] * 3


def test_events_at_the_same_instant_keep_the_order_they_were_recorded_in():
    """A frozen clock (or a fast browser) records two events in one second: the rule still holds."""
    opens = facts(SHOWN, ("suggestion_opened", 1, {"thread_id": 3}), ("suggestion_opened", 1, {"article_id": 7}))
    o = classify(opens, now=LATER, window=W)
    assert (o.inferred, o.credited_thread_id, o.credited_article_id) == (True, None, 7)
    reverse = facts(SHOWN, ("suggestion_opened", 1, {"article_id": 7}), ("suggestion_opened", 1, {"thread_id": 3}))
    assert classify(reverse, now=LATER, window=W).credited_thread_id == 3
    confirms = facts(SHOWN, ("confirmed", 2, {"thread_id": 3}), ("confirmed", 2, {"article_id": 7}))
    o = classify(confirms, now=LATER, window=W)
    assert (o.confirmed, o.credited_thread_id, o.credited_article_id) == (True, 3, None)


def test_the_hour_of_the_cap_is_the_clock_hour_whatever_the_seconds():
    pairs = classified(confirmed_session("first", 10 + 30.25 / 60), confirmed_session("second", 20 + 45.5 / 60),
                       confirmed_session("third", 59 + 59.999 / 60), confirmed_session("fourth", 60))
    assert pairs[0][1].at.second == 30 and pairs[0][1].at.microsecond == 250000
    mark_exclusions(pairs, exclude_automated=True, cap_per_hour=1)
    assert [o.excluded for _, o in pairs] == [None, "address_cap", "address_cap", None]
