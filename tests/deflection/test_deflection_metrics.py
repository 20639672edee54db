"""Every deflection definition of docs/metrics.md, on scripted visits through HTTP, with exact numbers.

The clock is frozen and moved by the script (``site.at``); each visitor is a browser
(cookies, user agent, address) that opens the pages, types (the suggest API), opens
suggestions, confirms, posts questions and writes to support, with CSRF and rate
limits on.  Every row the script makes references real threads, users and tickets.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import AskEvent, AskSession
from community.services.deflection import ask_sessions, metrics
from community.services.errors import ValidationError
from tests.deflection.conftest import minutes

NOTHING = "zzqx wvvk qjjx"  # a query that finds nothing


class Flow:
    """Scripted steps, each at its own time."""

    def __init__(self, site):
        self.site = site
        self.t1 = site.thread("How do I reset my password on the mobile app?",
                              "The reset link in the app does nothing when I tap it.")
        self.t2 = site.thread("Invoices do not download as a PDF file",
                              "Clicking download on an invoice gives an empty page.")
        self.category = site.category()

    def visit(self, at, *, member=False, page="/ask", visitor=None):
        self.site.at(at)
        visitor = visitor or self.site.visitor()
        if member:
            visitor.login(self.site.user())
        return visitor, visitor.open_page(page)

    def shown(self, visitor, sid, at, thread="t1"):
        self.site.at(at)
        query = {"t1": "reset password mobile", "t2": "invoices pdf download", None: NOTHING}[thread]
        results = visitor.suggest(sid, query)["results"]
        assert bool(results) == (thread is not None)

    def opened(self, visitor, sid, at, thread="t1"):
        self.site.at(at)
        assert visitor.open(sid, getattr(self, thread).id).status_code == 302

    def confirmed(self, visitor, sid, at, thread="t1"):
        self.site.at(at)
        assert visitor.confirm(sid, getattr(self, thread).id).status_code == 200

    def question(self, visitor, sid, at):
        self.site.at(at)
        assert visitor.post_question(sid, self.category).status_code == 302

    def support(self, visitor, sid, at):
        self.site.at(at)
        assert visitor.contact(sid).status_code == 302


@pytest.fixture()
def flow(site):
    return Flow(site)


def report(site, now, start=None, end=None):
    return site.report(start, end, now=now)


def test_the_worked_example_of_docs_metrics(site, flow):
    v1, s1 = flow.visit(minutes(0), member=True)              # S1 confirmed deflection
    flow.shown(v1, s1, minutes(0))
    flow.opened(v1, s1, minutes(1))
    flow.confirmed(v1, s1, minutes(3))
    v2, s2 = flow.visit(minutes(60), member=True)             # S2 confirmed, then posted
    flow.shown(v2, s2, minutes(60))
    flow.opened(v2, s2, minutes(61))
    flow.confirmed(v2, s2, minutes(62))
    flow.question(v2, s2, minutes(65))
    v3, s3 = flow.visit(minutes(120), member=True)            # S3 posted 29 minutes after opening
    flow.shown(v3, s3, minutes(120))
    flow.opened(v3, s3, minutes(121))
    flow.question(v3, s3, minutes(150))
    v4, s4 = flow.visit(minutes(180), page="/support/contact")  # S4 wrote 31 minutes after: inferred, failed
    flow.shown(v4, s4, minutes(180), "t2")
    flow.opened(v4, s4, minutes(181), "t2")
    flow.support(v4, s4, minutes(212))
    v5, s5 = flow.visit(minutes(240))                         # S5 opened and left
    flow.shown(v5, s5, minutes(240), "t2")
    flow.opened(v5, s5, minutes(241), "t2")
    v6, s6 = flow.visit(minutes(300), page="/support/contact")  # S6 zero results, then wrote
    flow.shown(v6, s6, minutes(300), None)
    flow.support(v6, s6, minutes(305))
    flow.visit(minutes(360))                                  # S7 nothing else
    v8, s8 = flow.visit(minutes(420))                         # S8 shown, never opened
    flow.shown(v8, s8, minutes(420))
    v9, s9 = flow.visit(datetime(2026, 3, 2, 23, 49))         # S9 window still running at 00:10
    flow.shown(v9, s9, datetime(2026, 3, 2, 23, 49))
    flow.opened(v9, s9, datetime(2026, 3, 2, 23, 50))
    assert site.visitor(agent="Mozilla/5.0 (compatible; Googlebot/2.1)").open_page(beacon=False) == ""

    r = report(site, datetime(2026, 3, 3, 0, 10))
    assert (r["sessions"], r["anonymous_sessions"], r["sessions_with_suggestions"]) == (9, 6, 7)
    assert (r["confirmed_deflections"], r["inferred_deflections"], r["inferred_pending"]) == (1, 2, 1)
    assert (r["held_deflections"], r["failed_deflections"]) == (2, 1)
    assert (r["deflection_rate"], r["deflection_rate_with_inferred"]) == (round(1 / 7, 4), round(3 / 7, 4))
    assert r["contacts_avoided_correlational"] == 3
    assert (r["estimated_savings"], r["estimated_savings_confirmed"], r["estimated_savings_held"]) == (75.0, 25.0, 50.0)
    assert (r["sessions_with_question"], r["sessions_with_support_request"], r["sessions_with_contact"]) == (2, 2, 4)
    assert [d["sessions"] for d in r["daily"]] == [9]
    assert [(t["thread_id"], t["confirmed"], t["inferred"]) for t in r["top_threads"]] == [
        (flow.t2.id, 0, 2), (flow.t1.id, 1, 0)]
    assert [(f["session"], f["kind"], f["queries"], f["opened_threads"]) for f in r["failed_sessions"]] == [
        (s4, "inferred", ["invoices pdf download"], [flow.t2.id])]
    assert r["excluded_traffic"]["refused_by_reason"] == {"bot": 1}
    later = report(site, datetime(2026, 3, 3, 0, 21))
    assert (later["inferred_deflections"], later["inferred_pending"]) == (3, 0)


def test_post_after_confirm_is_not_a_deflection_and_before_does_not_undo(site, flow):
    v, s = flow.visit(minutes(0), member=True)
    flow.shown(v, s, minutes(0))
    flow.opened(v, s, minutes(1))
    flow.confirmed(v, s, minutes(2))
    flow.question(v, s, minutes(50))
    w, t = flow.visit(minutes(100), page="/support/contact")
    flow.shown(w, t, minutes(100))
    flow.support(w, t, minutes(101))
    w.open_page("/support/contact")  # back on the form within 30 minutes: the same session
    flow.opened(w, t, minutes(102))
    flow.confirmed(w, t, minutes(103))
    r = report(site, minutes(600))
    assert (r["confirmed_deflections"], r["inferred_deflections"], r["sessions"]) == (1, 0, 2)
    assert r["deflection_rate"] == 0.5


@pytest.mark.parametrize("post_after, inferred", [(29, 0), (30, 0), (31, 1), (None, 1)])
def test_inferred_window_is_thirty_minutes_inclusive(site, flow, post_after, inferred):
    v, s = flow.visit(minutes(0), member=True)
    flow.shown(v, s, minutes(0))
    flow.opened(v, s, minutes(1))
    if post_after is not None:
        flow.question(v, s, minutes(1 + post_after))
    r = report(site, minutes(600))
    assert (r["inferred_deflections"], r["confirmed_deflections"]) == (inferred, 0)


def test_window_runs_from_the_last_opening_and_is_configurable(site, flow):
    v, s = flow.visit(minutes(0), member=True)
    flow.shown(v, s, minutes(0))
    flow.shown(v, s, minutes(0.5), "t2")
    flow.opened(v, s, minutes(1))
    flow.opened(v, s, minutes(20), "t2")
    flow.question(v, s, minutes(45))  # 44 min after the first opening, 25 after the last
    assert report(site, minutes(600))["inferred_deflections"] == 0
    site.app.config["DEFLECTION_INFERRED_MINUTES"] = 10
    r = report(site, minutes(600))
    assert r["inferred_deflections"] == 1 and r["inferred_window_minutes"] == 10


def test_credit_goes_to_the_last_thread_opened_never_an_idea(site, flow):
    from community.services.ideas.exchange import create_idea

    idea = create_idea(site.user(), flow.category, "Reset password from the mobile app directly",
                       "Let me reset my password in the mobile app without a browser.")
    db.session.commit()
    v, s = flow.visit(minutes(0))
    flow.shown(v, s, minutes(0))
    assert f"idea:{idea.id}" in ask_sessions.suggested_keys(s)
    flow.opened(v, s, minutes(1))
    flow.site.at(minutes(2))
    assert v.get(f"/ask/open/{s}/idea/{idea.id}").status_code == 302
    r = report(site, minutes(600))
    assert r["inferred_deflections"] == 1
    assert [(t["thread_id"], t["inferred"]) for t in r["top_threads"]] == [(flow.t1.id, 1)]


def test_sessions_without_suggestions_are_outside_the_denominator(site, flow):
    v, s = flow.visit(minutes(0))
    flow.shown(v, s, minutes(0), None)
    flow.visit(minutes(1))
    w, t = flow.visit(minutes(2))
    flow.shown(w, t, minutes(2))
    flow.opened(w, t, minutes(3))
    flow.confirmed(w, t, minutes(4))
    r = report(site, minutes(600))
    assert (r["sessions"], r["sessions_with_suggestions"], r["confirmed_deflections"]) == (3, 1, 1)
    assert r["deflection_rate"] == 1.0


def test_no_sessions_with_suggestions_gives_null_rates_and_cost_is_configurable(site, flow):
    flow.visit(minutes(0))
    r = report(site, minutes(600))
    assert r["deflection_rate"] is None and r["deflection_rate_with_inferred"] is None
    assert r["estimated_savings"] == 0
    site.app.config["DEFLECTION_COST_PER_CONTACT"] = 12.5
    v, s = flow.visit(minutes(10))
    flow.shown(v, s, minutes(10))
    flow.opened(v, s, minutes(11))
    flow.confirmed(v, s, minutes(12))
    assert report(site, minutes(600))["estimated_savings_confirmed"] == 12.5


def test_logging_in_continues_the_session_on_this_and_another_device(site, flow):
    member = site.user()
    browser = site.visitor()
    sid = browser.open_page()
    site.at(minutes(5))
    browser.login(member)
    assert browser.open_page() == sid
    assert db.session.get(AskSession, sid).user_id == member.id
    site.at(minutes(6))
    phone = site.visitor()
    phone.login(member)
    assert phone.open_page("/support/contact") == sid
    r = report(site, minutes(600))
    assert (r["sessions"], r["anonymous_sessions"]) == (1, 0)


def test_resume_within_thirty_minutes_of_inactivity_else_new(site, flow):
    v, first = flow.visit(minutes(0))
    site.at(minutes(29))
    assert v.open_page("/support/contact") == first
    flow.shown(v, first, minutes(50))
    site.at(minutes(79))  # 29 minutes after the last activity
    assert v.open_page() == first
    site.at(minutes(110))  # 31 minutes after
    assert v.open_page() != first
    assert db.session.get(AskSession, first).last_activity_at == minutes(79)


def test_the_page_script_keeps_the_session_open_while_the_visitor_types(site, flow):
    v, first = flow.visit(minutes(0))
    for n in (20, 40, 60):  # typing: the script reports in every few minutes
        site.at(minutes(n))
        assert v.post("/ask/beacon", {"session": first}).status_code == 200
    site.at(minutes(85))  # a reload 85 minutes after the start, 25 after the last activity
    assert v.open_page() == first


def test_date_ranges_are_inclusive_utc_days_by_session_start_and_end_at_the_present(site, flow):
    v, late = flow.visit(datetime(2026, 3, 1, 23, 59, 59))
    flow.shown(v, late, datetime(2026, 3, 1, 23, 59, 59))
    flow.opened(v, late, datetime(2026, 3, 2, 0, 0, 30))
    flow.confirmed(v, late, datetime(2026, 3, 2, 0, 1))
    flow.visit(datetime(2026, 3, 2, 0, 40))
    flow.visit(datetime(2026, 3, 3, 23, 59, 59))
    flow.visit(datetime(2026, 3, 4, 0, 0))
    now = datetime(2026, 3, 10)
    assert report(site, now, date(2026, 3, 1), date(2026, 3, 1))["sessions"] == 1
    assert report(site, now, date(2026, 3, 1), date(2026, 3, 1))["confirmed_deflections"] == 1
    assert report(site, now, date(2026, 3, 2), date(2026, 3, 2))["confirmed_deflections"] == 0
    assert report(site, now, date(2026, 3, 2), date(2026, 3, 3))["sessions"] == 2
    assert [d["sessions"] for d in report(site, now, date(2026, 3, 1), date(2026, 3, 4))["daily"]] == [1, 1, 1, 1]
    # On 2026-03-04 a range "to 2026-03-31" ends today: 4 days, not 31.
    assert metrics.parse_range("2026-03-01", "2026-03-31", today=date(2026, 3, 4)) == (
        date(2026, 3, 1), date(2026, 3, 4))


def test_parse_range_validates_and_defaults():
    assert metrics.parse_range("2026-03-01", "2026-03-01", today=date(2026, 3, 5)) == (
        date(2026, 3, 1), date(2026, 3, 1))
    assert metrics.parse_range(None, None, today=date(2026, 3, 30)) == (date(2026, 3, 1), date(2026, 3, 30))
    for raw_from, raw_to, field in [("2026-3-1", None, "from"), ("yesterday", None, "from"),
                                    ("2026-03-02", "2026-02-30", "to"), ("2026-03-02", "2026-03-01", "from"),
                                    ("2026-04-01", None, "from")]:
        with pytest.raises(ValidationError) as exc:
            metrics.parse_range(raw_from, raw_to, today=date(2026, 3, 5))
        assert exc.value.field == field


def test_suggestions_shown_is_debounced_per_distinct_query_and_long_queries_are_not_recorded(site, flow):
    v, s = flow.visit(minutes(0))
    for query in ("Reset Password", "reset  password!", "reset password app", "x" * 201):
        v.suggest(s, query)
    assert ask_sessions.session_queries(s) == ["Reset Password", "reset password app"]


def test_holdout_arm_is_stable_and_sized_by_share(site):
    ids = [f"{i:032x}" for i in range(4000)]
    assert {ask_sessions.arm_for(i, share=0) for i in ids} == {"suggestions"}
    arms = [ask_sessions.arm_for(i, share=0.05, salt="s") for i in ids]
    assert arms == [ask_sessions.arm_for(i, share=0.05, salt="s") for i in ids]
    assert 160 <= arms.count("holdout") <= 240
    assert arms != [ask_sessions.arm_for(i, share=0.05, salt="other") for i in ids]


def test_content_gaps_group_normalized_queries_and_drop_typing_prefixes(site, flow):
    for n, query in enumerate(("reset pass", "reset password", NOTHING)):
        v, s = flow.visit(minutes(n * 40))
        v.suggest(s, "reset pass")
        v.suggest(s, query)
    v, s = flow.visit(minutes(200))
    v.suggest(s, "reset password")
    flow.opened(v, s, minutes(201))
    gaps = report(site, minutes(600))["content_gaps"]
    # "reset pass" then "reset password" in one session keeps only the longer one
    assert [(g["query"], g["searches"], g["gaps"], g["zero_results"]) for g in gaps] == [
        ("reset pass", 2, 2, 0), (NOTHING, 1, 1, 1), ("reset password", 2, 1, 0)]


def test_demo_sessions_cli_fills_the_analytics_once(app, make, db):
    for n in range(3):
        make.thread(title=f"Demo question number {n} about invoices")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["deflection", "demo-sessions", "--days", "10"])
    assert first.exit_code == 0 and "sessions" in first.output
    again = runner.invoke(args=["deflection", "demo-sessions", "--days", "10"])
    assert "nothing" in again.output.lower() or "0" in again.output
    today = metrics.parse_range(None, None)[1]
    r = metrics.deflection_report(metrics.parse_range(None, None, default_days=10)[0], today)
    assert r["sessions"] > 0 and r["confirmed_deflections"] > 0
    assert r["excluded_traffic"]["excluded_sessions"] == 0
    assert db.session.execute(select(AskEvent.id).limit(1)).first() is not None


def test_breakdowns_roll_ups_and_the_previous_period(site, flow):
    """Per category and tag of the credited thread; ISO weeks and months; the period just before."""
    from community.extensions import db as _db
    from community.services.forum import threads as forum_threads

    tagged = forum_threads.create_thread(site.user(), flow.t1.category, "Export my notes to a PDF file",
                                         "Exporting notes to PDF gives an empty file.", "export pdf")
    _db.session.commit()
    flow.t3 = tagged

    def deflect(at, thread, query):
        visitor, sid = flow.visit(at)
        site.at(at)
        assert visitor.suggest(sid, query)["results"]
        flow.opened(visitor, sid, at, thread)
        flow.confirmed(visitor, sid, at, thread)
        return visitor

    day = 24 * 60
    deflect(minutes(-day), "t2", "invoices pdf download")            # Sunday 1 March: the previous period
    deflect(minutes(0), "t1", "reset password mobile")                # Monday 2 March
    deflect(minutes(10), "t3", "export notes pdf")
    failed = deflect(minutes(day), "t1", "reset password mobile")      # Tuesday 3 March, then writes to support
    site.at(minutes(day + 60))                                        # a new session: 30 minutes idle
    flow.support(failed, failed.open_page("/support/contact"), minutes(day + 61))

    r = report(site, minutes(3 * day), date(2026, 3, 2), date(2026, 3, 3))
    assert (r["confirmed_deflections"], r["held_deflections"], r["failed_deflections"]) == (3, 2, 1)
    assert r["by_category"] == [
        {"category": flow.t1.category.name, "deflections": 3, "confirmed": 3, "inferred": 0, "held": 2, "failed": 1}]
    assert r["by_tag"] == [
        {"tag": "export", "deflections": 1, "confirmed": 1, "inferred": 0, "held": 1, "failed": 0},
        {"tag": "pdf", "deflections": 1, "confirmed": 1, "inferred": 0, "held": 1, "failed": 0}]
    assert [(w["period_start"], w["confirmed_deflections"], w["sessions"]) for w in r["weekly"]] == [
        ("2026-03-02", 3, 4)]   # the support visit is a session of its own
    assert [(m["period_start"], m["held_deflections"], m["deflection_rate"]) for m in r["monthly"]] == [
        ("2026-03-01", 2, 1.0)]
    previous = r["previous_period"]
    assert (previous["from"], previous["to"], previous["confirmed_deflections"]) == ("2026-02-28", "2026-03-01", 1)
    assert previous["change"]["confirmed_deflections"] == 2 and previous["change"]["held_deflections"] == 1
    assert previous["change"]["deflection_rate"] == 0.0


def test_days_are_those_of_the_reporting_time_zone(site, flow):
    """09:00 UTC on 2 March and 02:00 UTC on 3 March are both 2 March in New York (UTC−5)."""
    for at in (minutes(0), minutes(17 * 60)):            # 2026-03-02 09:00 and 2026-03-03 02:00 UTC
        visitor, sid = flow.visit(at)
        flow.shown(visitor, sid, at)
    utc = report(site, minutes(24 * 60), date(2026, 3, 2), date(2026, 3, 2))
    assert (utc["time_zone"], utc["sessions"]) == ("UTC", 1)
    site.app.config["REPORT_TIME_ZONE"] = "America/New_York"
    local = report(site, minutes(24 * 60), date(2026, 3, 2), date(2026, 3, 2))
    assert (local["time_zone"], local["sessions"], local["daily"][0]["sessions"]) == ("America/New_York", 2, 2)
    assert report(site, minutes(24 * 60), date(2026, 3, 3), date(2026, 3, 3))["sessions"] == 0


def test_an_unknown_reporting_time_zone_stops_the_app_with_a_clear_error(tmp_path):
    from community import create_app

    with pytest.raises(ValueError, match="REPORT_TIME_ZONE must be an IANA time zone"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "REPORT_TIME_ZONE": "Mars/Olympus"})


def test_a_long_gap_query_is_shortened_on_the_page_and_whole_in_the_api(site, flow):
    """120 characters are shown whole; past that, 119 (trailing space trimmed) and an ellipsis."""
    import html
    import re

    exact = ("zzqx wvvk " * 12)[:119] + "q"                  # 120 characters, finds nothing
    longer = "qjj " + ("wvvk zzqx " * 13)[:126]              # 130; its 119th character is a space
    assert len(exact) == 120 and len(longer) == 130 and longer[118] == " " and longer[117] != " "
    for n, query in enumerate((exact, longer)):
        visitor, sid = flow.visit(minutes(n))
        assert visitor.suggest(sid, query)["results"] == []
    site.at(minutes(60))
    body = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert sorted(g["query"] for g in body["content_gaps"]) == sorted([exact, longer])
    staff = site.visitor()
    staff.login(site.user(role="agent"))
    page = staff.get("/analytics?from=2026-03-02&to=2026-03-02").get_data(as_text=True)
    cells = {html.unescape(title): html.unescape(shown) for title, shown in
             re.findall(r'<td class="gap-query" title="([^"]*)">([^<]*)</td>', page)}
    assert cells == {exact: exact, longer: longer[:118] + "…"}


def test_a_gap_shows_the_latest_wording_and_at_the_same_instant_the_last_recorded(site, flow):
    """Three wordings of one normalized query: 09:00 and twice at 09:05; the gap shows the
    wording recorded last at 09:05."""
    for at, wording in ((0, "zzqx WVVK qjjx"), (5, "ZZQX wvvk qjjx"), (5, "zzqx wvvk qjjx!")):
        visitor, sid = flow.visit(minutes(at))
        assert visitor.suggest(sid, wording)["results"] == []
    site.at(minutes(60))
    body = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert [(g["query"], g["searches"], g["gaps"], g["zero_results"], g["last_seen"])
            for g in body["content_gaps"]] == [("zzqx wvvk qjjx!", 3, 3, 3, "2026-03-02T09:05:00Z")]


def test_a_three_character_query_is_recorded_and_a_suggestions_session_is_told_it_is_not_held_out(site, flow):
    """Three characters is the shortest query recorded (a gap when it finds nothing); two are not."""
    visitor, sid = flow.visit(minutes(0))
    assert visitor.suggest(sid, "zzq") == {"results": []}      # "holdout" only for a holdout session
    assert visitor.suggest(sid, "qj") == {"results": []}
    site.at(minutes(60))
    body = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert [(g["query"], g["searches"], g["zero_results"]) for g in body["content_gaps"]] == [("zzq", 1, 1)]


def test_content_gaps_hold_only_the_sessions_that_started_in_the_range(site, flow):
    """A session started at 23:50 on 1 March that searches at 00:05 on 2 March belongs to 1 March
    (docs/metrics.md: a session belongs to the day it started), as does its gap."""
    late, sid = flow.visit(minutes(-550))                  # 1 March 23:50
    site.at(minutes(-535))                                 # 2 March 00:05, the same session
    assert late.suggest(sid, "zzqx late night")["results"] == []
    visitor, sid = flow.visit(minutes(60))                 # 2 March 10:00
    assert visitor.suggest(sid, "zzqx morning")["results"] == []
    site.at(minutes(120))
    queries = lambda day: [(g["query"], g["searches"]) for g in site.api(  # noqa: E731
        f"/api/v1/metrics/deflection?from={day}&to={day}").get_json()["content_gaps"]]
    assert queries("2026-03-02") == [("zzqx morning", 1)]
    assert queries("2026-03-01") == [("zzqx late night", 1)]


def test_a_content_gap_in_the_api_has_exactly_its_documented_fields(site, flow):
    visitor, sid = flow.visit(minutes(0))
    assert visitor.suggest(sid, "zzqx only fields")["results"] == []
    site.at(minutes(60))
    gaps = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()["content_gaps"]
    assert gaps == [{"query": "zzqx only fields", "display_query": "zzqx only fields", "searches": 1, "gaps": 1,
                     "zero_results": 1, "last_seen": "2026-03-02T09:00:00Z"}]
