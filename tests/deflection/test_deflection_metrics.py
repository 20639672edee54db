"""Every deflection definition of docs/metrics.md, on scripted event sequences with exact numbers.

Times are explicit (``now=`` / ``at=``), so nothing depends on the clock.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from community.models import AskSession
from community.services.deflection import ask_sessions, metrics
from community.services.deflection.ask_sessions import (
    record_confirmed,
    record_event,
    record_opened,
    record_suggestions_shown,
    start_or_resume_session,
)

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 9, 0)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


class Script:
    """Builds sessions event by event; each visitor gets a fresh cookie id."""

    def __init__(self, db):
        self.db = db
        self.n = 0

    def session(self, at, *, user=None, page="ask", agent=UA, visitor=None):
        self.n += 1
        visitor = visitor or f"{self.n:032x}"
        s = start_or_resume_session(visitor_id=visitor, page=page, user=user, user_agent=agent, now=at)
        self.db.session.commit()
        return s

    def shown(self, s, at, results=("thread:1",), query=None):
        self.n += 1
        record_suggestions_shown(s.id, query or f"query number {self.n}", list(results), at=at)
        self.db.session.commit()

    def opened(self, s, at, thread_id=1):
        record_opened(s.id, "thread", thread_id, at=at)
        self.db.session.commit()

    def confirmed(self, s, at, thread_id=1):
        record_confirmed(s.id, thread_id, at=at)
        self.db.session.commit()

    def event(self, s, kind, at, **fields):
        record_event(s.id, kind, at=at, **fields)
        self.db.session.commit()


@pytest.fixture()
def script(db):
    return Script(db)


def report(now, start=DAY, end=DAY, **kw):
    return metrics.deflection_report(start, end, now=now, **kw)


def test_full_scripted_day_gives_exact_numbers(script, make):
    member = make.user()
    # S1 confirmed deflection
    s1 = script.session(minutes(0), user=member)
    script.shown(s1, minutes(0))
    script.opened(s1, minutes(1))
    script.confirmed(s1, minutes(3))
    # S2 confirmed, then posted a question: not a deflection of any kind
    s2 = script.session(minutes(60))
    script.shown(s2, minutes(60))
    script.opened(s2, minutes(61))
    script.confirmed(s2, minutes(62))
    script.event(s2, "question_posted", minutes(65))
    # S3 opened, posted 29 minutes later: not inferred
    s3 = script.session(minutes(120))
    script.shown(s3, minutes(120))
    script.opened(s3, minutes(121))
    script.event(s3, "question_posted", minutes(150))
    # S4 opened, posted 31 minutes later: inferred (nothing within 30 minutes)
    s4 = script.session(minutes(180))
    script.shown(s4, minutes(180))
    script.opened(s4, minutes(181), thread_id=2)
    script.event(s4, "support_request", minutes(212))
    # S5 opened and left: inferred
    s5 = script.session(minutes(240))
    script.shown(s5, minutes(240))
    script.opened(s5, minutes(241), thread_id=2)
    # S6 shown zero results, then a support request: not in the denominator
    s6 = script.session(minutes(300))
    script.shown(s6, minutes(300), results=())
    script.event(s6, "support_request", minutes(305))
    # S7 opened the page and did nothing
    script.session(minutes(360))
    # S8 shown, never opened
    s8 = script.session(minutes(420))
    script.shown(s8, minutes(420))
    # S9 opened at 23:50: its 30-minute window is still running at 00:10 -> pending
    s9 = script.session(datetime(2026, 3, 2, 23, 49))
    script.shown(s9, datetime(2026, 3, 2, 23, 49))
    script.opened(s9, datetime(2026, 3, 2, 23, 50))
    # A bot never gets a session
    assert script.session(minutes(10), agent="Mozilla/5.0 (compatible; Googlebot/2.1)") is None

    r = report(now=datetime(2026, 3, 3, 0, 10))
    assert r["sessions"] == 9
    assert r["anonymous_sessions"] == 8
    assert r["sessions_with_suggestions"] == 7
    assert r["confirmed_deflections"] == 1
    assert r["inferred_deflections"] == 2
    assert r["inferred_pending"] == 1
    assert r["deflection_rate"] == round(1 / 7, 4)
    assert r["deflection_rate_with_inferred"] == round(3 / 7, 4)
    assert r["contacts_avoided"] == 3
    assert r["cost_per_contact"] == 25.0
    assert r["estimated_savings"] == 75.0
    assert r["estimated_savings_confirmed"] == 25.0
    assert r["sessions_with_question"] == 2
    assert r["sessions_with_support_request"] == 2
    assert [d["sessions"] for d in r["daily"]] == [9]
    assert [(t["thread_id"], t["confirmed"], t["inferred"]) for t in r["top_threads"]] == [(2, 0, 2), (1, 1, 0)]

    # Later, S9's window has passed: it becomes inferred.
    later = report(now=datetime(2026, 3, 3, 0, 21))
    assert (later["inferred_deflections"], later["inferred_pending"]) == (3, 0)


def test_post_after_confirm_is_not_a_deflection(script):
    s = script.session(minutes(0))
    script.shown(s, minutes(0))
    script.opened(s, minutes(1))
    script.confirmed(s, minutes(2))
    script.event(s, "question_posted", minutes(50))
    r = report(now=minutes(600))
    assert (r["confirmed_deflections"], r["inferred_deflections"]) == (0, 0)
    assert r["deflection_rate"] == 0.0


def test_contact_before_confirm_does_not_undo_it(script):
    s = script.session(minutes(0))
    script.shown(s, minutes(0))
    script.event(s, "support_request", minutes(1))
    script.opened(s, minutes(2))
    script.confirmed(s, minutes(3))
    r = report(now=minutes(600))
    assert (r["confirmed_deflections"], r["inferred_deflections"]) == (1, 0)


@pytest.mark.parametrize("post_after, inferred", [(29, 0), (30, 0), (31, 1), (None, 1)])
def test_inferred_window_is_thirty_minutes_inclusive(script, post_after, inferred):
    s = script.session(minutes(0))
    script.shown(s, minutes(0))
    script.opened(s, minutes(1))
    if post_after is not None:
        script.event(s, "question_posted", minutes(1 + post_after))
    r = report(now=minutes(600))
    assert r["inferred_deflections"] == inferred
    assert r["confirmed_deflections"] == 0


def test_window_runs_from_the_last_opening(script):
    s = script.session(minutes(0))
    script.shown(s, minutes(0))
    script.opened(s, minutes(1))
    script.opened(s, minutes(20), thread_id=2)
    script.event(s, "question_posted", minutes(45))  # 44 min after the first, 25 after the last
    assert report(now=minutes(600))["inferred_deflections"] == 0


def test_inferred_window_is_configurable(app, script):
    app.config["DEFLECTION_INFERRED_MINUTES"] = 10
    s = script.session(minutes(0))
    script.shown(s, minutes(0))
    script.opened(s, minutes(1))
    script.event(s, "question_posted", minutes(12))
    r = report(now=minutes(600))
    assert r["inferred_deflections"] == 1 and r["inferred_window_minutes"] == 10


def test_confirmed_and_inferred_are_disjoint(script):
    s = script.session(minutes(0))
    script.shown(s, minutes(0))
    script.opened(s, minutes(1))
    script.confirmed(s, minutes(2))
    r = report(now=minutes(600))
    assert (r["confirmed_deflections"], r["inferred_deflections"]) == (1, 0)
    assert r["contacts_avoided"] == 1


def test_sessions_without_suggestions_are_outside_the_denominator(script):
    for results in ((), ("thread:1",)):
        s = script.session(minutes(0))
        script.shown(s, minutes(0), results=results)
        script.opened(s, minutes(1))  # e.g. a stale link: without suggestions shown it cannot count
        script.confirmed(s, minutes(2))
    script.session(minutes(5))
    r = report(now=minutes(600))
    assert r["sessions"] == 3
    assert r["sessions_with_suggestions"] == 1
    assert r["confirmed_deflections"] == 1
    assert r["deflection_rate"] == 1.0


def test_no_sessions_with_suggestions_gives_null_rates(script):
    script.session(minutes(0))
    r = report(now=minutes(600))
    assert r["deflection_rate"] is None and r["deflection_rate_with_inferred"] is None
    assert r["estimated_savings"] == 0


def test_cost_per_contact_is_configurable(app, script):
    app.config["DEFLECTION_COST_PER_CONTACT"] = 12.5
    s = script.session(minutes(0))
    script.shown(s, minutes(0))
    script.opened(s, minutes(1))
    script.confirmed(s, minutes(2))
    assert report(now=minutes(600))["estimated_savings"] == 12.5


def test_anonymous_and_logged_in_visitors_both_count(script, make, db):
    member = make.user()
    anon = script.session(minutes(0), visitor="a" * 32)
    mine = script.session(minutes(0), visitor="b" * 32, user=member)
    # The member logs in on the anonymous browser: the open session is theirs now.
    resumed = start_or_resume_session(visitor_id="a" * 32, page="ask", user=member, user_agent=UA,
                                      now=minutes(5))
    assert resumed.id == anon.id and resumed.user_id == member.id
    # On a third device, the logged-in user continues their latest session.
    again = start_or_resume_session(visitor_id="c" * 32, page="contact", user=member, user_agent=UA,
                                    now=minutes(6))
    assert again.id == anon.id
    assert mine.id != anon.id
    r = report(now=minutes(600))
    assert r["sessions"] == 2
    assert r["anonymous_sessions"] == 0


@pytest.mark.parametrize("agent", ["", "Googlebot/2.1 (+http://www.google.com/bot.html)",
                                   "Mozilla/5.0 (compatible; bingbot/2.0)", "curl/8.4.0",
                                   "python-requests/2.31", "facebookexternalhit/1.1"])
def test_bots_get_no_session(script, agent):
    assert script.session(minutes(0), agent=agent) is None
    assert report(now=minutes(600))["sessions"] == 0


def test_resume_within_thirty_minutes_of_inactivity_else_new(script, db):
    first = script.session(minutes(0), visitor="d" * 32)
    same = script.session(minutes(29), visitor="d" * 32, page="contact")
    assert same.id == first.id and same.page == "ask"
    record_event(first.id, "suggestions_shown", query="x y z", result_ids=[], at=minutes(50))
    db.session.commit()
    still = script.session(minutes(79), visitor="d" * 32)  # 29 minutes after the last activity
    assert still.id == first.id
    fresh = script.session(minutes(110), visitor="d" * 32)  # 31 minutes after
    assert fresh.id != first.id
    assert db.session.get(AskSession, first.id).last_activity_at == minutes(79)


def test_date_range_is_inclusive_utc_days_by_session_start(script):
    late = script.session(datetime(2026, 3, 1, 23, 59, 59))
    script.shown(late, datetime(2026, 3, 1, 23, 59, 59))
    script.opened(late, datetime(2026, 3, 2, 0, 0, 30))
    script.confirmed(late, datetime(2026, 3, 2, 0, 1))
    script.session(datetime(2026, 3, 2, 0, 0))
    script.session(datetime(2026, 3, 3, 23, 59, 59))
    script.session(datetime(2026, 3, 4, 0, 0))
    now = datetime(2026, 3, 10)
    assert report(now, date(2026, 3, 1), date(2026, 3, 1))["sessions"] == 1
    assert report(now, date(2026, 3, 1), date(2026, 3, 1))["confirmed_deflections"] == 1
    assert report(now, date(2026, 3, 2), date(2026, 3, 2))["confirmed_deflections"] == 0
    assert report(now, date(2026, 3, 2), date(2026, 3, 3))["sessions"] == 2
    full = report(now, date(2026, 3, 1), date(2026, 3, 4))
    assert full["sessions"] == 4
    assert [d["sessions"] for d in full["daily"]] == [1, 1, 1, 1]


def test_parse_range_validates_and_defaults():
    assert metrics.parse_range("2026-03-01", "2026-03-01") == (date(2026, 3, 1), date(2026, 3, 1))
    assert metrics.parse_range(None, None, today=date(2026, 3, 30)) == (date(2026, 3, 1), date(2026, 3, 30))
    for raw_from, raw_to, field in [("2026-3-1", None, "from"), ("yesterday", None, "from"),
                                    ("2026-03-02", "2026-02-30", "to"), ("2026-03-02", "2026-03-01", "from")]:
        with pytest.raises(deflection_errors().ValidationError) as exc:
            metrics.parse_range(raw_from, raw_to)
        assert exc.value.field == field


def deflection_errors():
    from community.services import errors

    return errors


def test_suggestions_shown_is_debounced_per_distinct_query(script, db):
    s = script.session(minutes(0))
    assert record_suggestions_shown(s.id, "Reset  Password", ["thread:1"], at=minutes(1))
    assert not record_suggestions_shown(s.id, "reset password!", ["thread:1"], at=minutes(2))
    assert record_suggestions_shown(s.id, "reset password app", ["thread:1"], at=minutes(3))
    db.session.commit()
    assert ask_sessions.session_queries(s.id) == ["Reset Password", "reset password app"]


def test_holdout_arm_is_stable_and_sized_by_share(app):
    ids = [f"{i:032x}" for i in range(2000)]
    arms = [ask_sessions.arm_for(i, share=0.05, salt="s") for i in ids]
    assert arms == [ask_sessions.arm_for(i, share=0.05, salt="s") for i in ids]
    assert 60 <= arms.count("holdout") <= 140
    assert {ask_sessions.arm_for(i, share=0) for i in ids} == {"suggestions"}
    assert arms != [ask_sessions.arm_for(i, share=0.05, salt="other") for i in ids]


def test_content_gaps_group_normalized_queries_and_drop_typing_prefixes(script):
    a = script.session(minutes(0))
    script.shown(a, minutes(0), results=("thread:1",), query="export inv")
    script.shown(a, minutes(1), results=(), query="export invoices to pdf")
    b = script.session(minutes(10))
    script.shown(b, minutes(10), results=("thread:3",), query="Export invoices to PDF?")
    c = script.session(minutes(20))
    script.shown(c, minutes(20), results=("thread:1",), query="reset password")
    script.opened(c, minutes(21), thread_id=1)
    d = script.session(minutes(30))
    script.shown(d, minutes(30), results=("thread:1",), query="reset password")
    gaps = report(now=minutes(600))["content_gaps"]
    assert [(g["query"], g["searches"], g["gaps"], g["zero_results"]) for g in gaps] == [
        ("Export invoices to PDF?", 2, 2, 1),
        ("reset password", 2, 1, 0),
    ]


def test_health_counts_and_medians(make, db):
    from community.models import Thread

    author = make.user()
    category = make.category()
    specs = [  # (created, first reply after, solved after)
        (datetime(2026, 3, 2, 8), timedelta(hours=1), timedelta(hours=5)),
        (datetime(2026, 3, 2, 9), timedelta(hours=3), None),
        (datetime(2026, 3, 3, 10), timedelta(minutes=30), timedelta(hours=1)),
        (datetime(2026, 3, 3, 11), None, None),
        (datetime(2026, 3, 5, 0), timedelta(hours=2), None),  # outside the range
    ]
    for i, (created, reply, solved) in enumerate(specs):
        thread = make.thread(author=author, category=category, title=f"Health question number {i}")
        thread.created_at = created
        thread.first_reply_at = created + reply if reply else None
        if solved:
            thread.solved_at = created + solved
            thread.accepted_post_id = thread.question_post_id  # stands in for an accepted answer
        db.session.commit()
    hidden = make.thread(author=author, category=category, title="Hidden question here")
    hidden.created_at, hidden.hidden = datetime(2026, 3, 2, 12), True
    db.session.commit()
    assert db.session.query(Thread).count() == 6
    health = metrics.community_health(date(2026, 3, 2), date(2026, 3, 3))
    assert health["questions"] == 4
    assert health["questions_per_day"] == 2.0
    assert (health["answered"], health["solved"]) == (3, 2)
    assert health["answered_rate"] == 0.75 and health["solved_rate"] == 0.5
    assert health["median_time_to_first_reply_seconds"] == 3600
    assert health["median_time_to_accepted_answer_seconds"] == 3 * 3600
    assert health["daily"]["2026-03-03"] == {"questions": 2, "answered": 1, "solved": 1,
                                             "answered_rate": 0.5, "solved_rate": 0.5}


def test_demo_sessions_cli_fills_the_analytics_once(app, make, db):

    for i in range(4):
        make.thread(title=f"Demo question about invoices number {i}")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["deflection", "demo-sessions", "--days", "10"])
    assert "Simulated" in result.output
    n = db.session.query(AskSession).count()
    assert n > 30
    again = runner.invoke(args=["deflection", "demo-sessions"])
    assert "nothing simulated" in again.output and db.session.query(AskSession).count() == n
    from community.models import utcnow
    today = utcnow().date()
    r = metrics.deflection_report(today - timedelta(days=9), today)
    assert r["sessions"] == n
    assert r["confirmed_deflections"] > 0 and r["inferred_deflections"] > 0
    assert r["content_gaps"] and r["top_threads"]
