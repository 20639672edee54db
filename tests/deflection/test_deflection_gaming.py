"""Numbers that hold: every gaming attempt of issue 19, through HTTP, refused or excluded and counted.

Each test scripts the attack, then reads the exact figures of the report.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AskEvent, AskSession
from community.services.moderation import actions
from tests.deflection.conftest import minutes


@pytest.fixture()
def answer(site):
    thread = site.thread("How do I reset my password on the mobile app?",
                         "The reset link in the app does nothing when I tap it.")
    return thread


def sessions() -> int:
    return db.session.execute(select(func.count()).select_from(AskSession)).scalar_one()


def refused(report, reason):
    return report["excluded_traffic"]["refused_by_reason"].get(reason, 0)


def test_the_loop_of_issue_19_counts_nothing(site, answer):
    """GET /ask?title=, /ask/open, POST /ask/confirm, 200 times from one address, Chrome agent."""
    statuses = []
    for i in range(200):
        bot = site.visitor(address="203.0.113.9")  # a fresh cookie jar each time
        sid = bot.open_page("/ask?title=reset+password", beacon=False)
        statuses.append(bot.open(sid or "0" * 32, answer.id).status_code)
        statuses.append(bot.confirm(sid or "0" * 32, answer.id).status_code)
    r = site.report(now=minutes(60))
    assert r["confirmed_deflections"] == 0 and r["inferred_deflections"] == 0
    # 20 new visitors a minute may start sessions from one address; the rest are refused and counted.
    assert sessions() == 20 and refused(r, "address_rate") == 180
    # The 20 sessions never ran the page's script: excluded, and reported as such.
    assert r["excluded_traffic"]["excluded_by_reason"] == {"no_script": 20}
    assert r["sessions"] == 0
    # Opens and confirms beyond the per-address limits are 429s, counted.
    assert statuses.count(429) > 0
    assert refused(r, "open_limit") + refused(r, "confirm_limit") == statuses.count(429)


def test_prefetches_and_link_previews_make_no_session(site):
    visitor = site.visitor()
    assert visitor.open_page("/ask", beacon=False, **{"Sec-Purpose": "prefetch"}) == ""
    assert visitor.open_page("/ask", beacon=False, Purpose="prefetch") == ""
    assert visitor.open_page("/support/contact", beacon=False, **{"Sec-Purpose": "prefetch;prerender"}) == ""
    for agent in ("Slackbot-LinkExpanding 1.0", "facebookexternalhit/1.1", "WhatsApp/2.23",
                  "Mozilla/5.0 (compatible; Discordbot/2.0)", "TelegramBot (like TwitterBot)", ""):
        assert site.visitor(agent=agent).open_page("/ask", beacon=False) == ""
    r = site.report()
    assert sessions() == 0
    assert refused(r, "prefetch") == 3 and refused(r, "bot") == 6


def test_the_bot_patterns_setting_replaces_the_default_list(site):
    """DEFLECTION_BOT_PATTERNS names a site's own monitors; the default list no longer applies."""
    site.app.config["DEFLECTION_BOT_PATTERNS"] = ["acme-monitor"]
    assert site.visitor(agent="Mozilla/5.0 (compatible; Acme-Monitor/2.1)").open_page(beacon=False) == ""
    assert site.visitor(agent="Mozilla/5.0 (compatible; bingbot/2.0)").open_page(beacon=False) != ""
    assert sessions() == 1 and refused(site.report(), "bot") == 1


def test_server_side_suggestions_are_recorded_only_under_the_suggest_limit(site, answer):
    site.app.config["SUGGEST_RATE_LIMIT"] = "3 per minute"
    visitor = site.visitor()
    sid = visitor.open_page()
    for q in ("reset password", "reset password app", "password app", "mobile password"):
        visitor.get(f"/ask?title={q.replace(' ', '+')}")
    shown = db.session.execute(select(AskEvent.query).where(AskEvent.session_id == sid,
                                                            AskEvent.kind == "suggestions_shown")).scalars().all()
    assert shown == ["reset password", "reset password app", "password app"]
    assert visitor.get(f"/api/v1/suggest?q=reset&session={sid}").status_code == 429
    assert refused(site.report(), "suggest_limit") == 2


def test_confirm_only_a_visible_thread_suggested_and_opened_in_the_session(site, answer):
    other = site.thread("Invoices do not download as a PDF file")
    visitor = site.visitor()
    sid = visitor.open_page()
    assert [r["id"] for r in visitor.suggest(sid, "reset password mobile")["results"]] == [answer.id]
    assert visitor.confirm(sid, answer.id).status_code == 404           # suggested, not opened
    assert visitor.open(sid, other.id).status_code == 302               # opened, never suggested:
    assert visitor.confirm(sid, other.id).status_code == 404            # forwarded, not recorded
    assert visitor.confirm(sid, 999999).status_code == 404              # no such thread
    assert visitor.open(sid, 999999).status_code == 404
    assert visitor.get(f"/ask/open/{sid}/idea/4242").status_code == 404  # no such idea
    assert visitor.open(sid, answer.id).status_code == 302
    opened = db.session.execute(select(AskEvent.thread_id).where(
        AskEvent.session_id == sid, AskEvent.kind == "suggestion_opened")).scalars().all()
    assert opened == [answer.id]
    r = site.report(now=minutes(10))
    assert refused(r, "confirm_invalid") == 3 and refused(r, "open_invalid") == 3


def test_a_hidden_thread_cannot_be_confirmed_nor_ranked(site, answer):
    visitor = site.visitor()
    sid = visitor.open_page()
    visitor.suggest(sid, "reset password mobile")
    visitor.open(sid, answer.id)
    moderator = site.user(role="moderator")
    actions.hide_thread(moderator, answer, reason="spam")
    db.session.commit()
    assert visitor.confirm(sid, answer.id).status_code == 404
    r = site.report(now=minutes(60))
    assert r["confirmed_deflections"] == 0 and r["top_threads"] == []
    assert r["inferred_deflections"] == 1  # the visitor did leave; the thread gets no credit
    assert refused(r, "confirm_invalid") == 1


def test_one_confirmation_per_session(site, answer):
    other = site.thread("Reset the password of a shared family account")
    visitor = site.visitor()
    sid = visitor.open_page()
    ids = {r["id"] for r in visitor.suggest(sid, "reset password")["results"]}
    assert ids == {answer.id, other.id}
    visitor.open(sid, answer.id)
    visitor.open(sid, other.id)
    first = visitor.confirm(sid, answer.id)
    again = visitor.confirm(sid, answer.id)
    second = visitor.confirm(sid, other.id)
    assert [first.get_json()["counted"], again.get_json()["counted"], second.get_json()["counted"]] == [
        True, False, False]
    r = site.report(now=minutes(60))
    assert r["confirmed_deflections"] == 1 and refused(r, "confirm_repeat") == 2
    assert [(t["thread_id"], t["confirmed"]) for t in r["top_threads"]] == [(answer.id, 1)]


def test_confirm_and_open_are_rate_limited_per_visitor(site, answer):
    site.app.config["DEFLECTION_CONFIRM_RATE_LIMIT"] = "2 per minute"
    site.app.config["DEFLECTION_OPEN_RATE_LIMIT"] = "3 per minute"
    visitor = site.visitor()
    sid = visitor.open_page()
    visitor.suggest(sid, "reset password")
    assert [visitor.open(sid, answer.id).status_code for _ in range(4)] == [302, 302, 302, 429]
    assert [visitor.confirm(sid, answer.id).status_code for _ in range(3)] == [200, 200, 429]
    r = site.report(now=minutes(60))
    assert refused(r, "open_limit") == 1 and refused(r, "confirm_limit") == 1 and r["confirmed_deflections"] == 1


def test_the_visitor_limit_holds_when_the_visitor_s_address_changes(site, answer):
    """A phone moving between networks: the visitor's own counter (its cookie) keeps counting
    although neither address reaches the limit."""
    site.app.config["DEFLECTION_CONFIRM_RATE_LIMIT"] = "2 per minute"
    site.app.config["DEFLECTION_OPEN_RATE_LIMIT"] = "3 per minute"
    visitor = site.visitor(address="10.0.0.1")
    sid = visitor.open_page()
    visitor.suggest(sid, "reset password")
    opens = []
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2"):   # 2 from each address
        visitor.environ["REMOTE_ADDR"] = address
        opens.append(visitor.open(sid, answer.id).status_code)
    assert opens == [302, 302, 302, 429]
    confirms = []
    for address in ("10.0.0.3", "10.0.0.4", "10.0.0.3"):   # at most 2 from each address
        visitor.environ["REMOTE_ADDR"] = address
        confirms.append(visitor.confirm(sid, answer.id).status_code)
    assert confirms == [200, 200, 429]
    r = site.report(now=minutes(60))
    assert refused(r, "open_limit") == 1 and refused(r, "confirm_limit") == 1 and r["confirmed_deflections"] == 1


def test_at_most_20_confirmations_an_hour_count_from_one_address(site, answer):
    site.app.config["DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR"] = 20
    for i in range(25):
        site.at(minutes(2 * i))  # under the new-visitor and per-address rate limits
        visitor = site.visitor(address="198.51.100.7")
        sid = visitor.open_page()
        visitor.suggest(sid, "reset password")
        visitor.open(sid, answer.id)
        assert visitor.confirm(sid, answer.id).status_code == 200
    r = site.report(now=minutes(120))
    # all 25 between 09:00 and 09:48, one clock hour: the first 20 count, 5 are excluded
    assert r["confirmed_deflections"] == 20
    assert r["excluded_traffic"]["excluded_by_reason"] == {"address_cap": 5}
    site.at(minutes(62))  # 10:02, a new hour: one more counts
    visitor = site.visitor(address="198.51.100.7")
    sid = visitor.open_page()
    visitor.suggest(sid, "reset password")
    visitor.open(sid, answer.id)
    visitor.confirm(sid, answer.id)
    assert site.report(now=minutes(120))["confirmed_deflections"] == 21


def test_the_exclusion_can_be_turned_off_for_a_rig_of_scripted_visitors(site, answer):
    site.app.config["DEFLECTION_EXCLUDE_AUTOMATED"] = False
    for i in range(3):
        visitor = site.visitor(address="192.0.2.1")
        sid = visitor.open_page(beacon=False)
        visitor.suggest(sid, "reset password")
        visitor.open(sid, answer.id)
        visitor.confirm(sid, answer.id)
    r = site.report(now=minutes(60))
    assert r["confirmed_deflections"] == 3 and r["excluded_traffic"]["excluded_sessions"] == 0
    site.app.config["DEFLECTION_EXCLUDE_AUTOMATED"] = True
    r = site.report(now=minutes(60))
    assert r["confirmed_deflections"] == 0 and r["excluded_traffic"]["excluded_by_reason"] == {"no_script": 3}


def test_refusals_count_on_the_day_they_happen(site):
    """Two bots on 2 March, one on 3 March: each day's report has its own count."""
    from datetime import datetime

    for when in (datetime(2026, 3, 2, 10, 0), datetime(2026, 3, 2, 23, 59), datetime(2026, 3, 3, 0, 1)):
        site.at(when)
        assert site.visitor(agent="Mozilla/5.0 (compatible; bingbot/2.0)").open_page(beacon=False) == ""
    site.at(datetime(2026, 3, 3, 12, 0))

    def bots(period):
        body = site.api(f"/api/v1/metrics/deflection?{period}").get_json()
        return refused(body, "bot")

    assert bots("from=2026-03-02&to=2026-03-02") == 2
    assert bots("from=2026-03-03&to=2026-03-03") == 1
    assert bots("from=2026-03-02&to=2026-03-03") == 3


def test_a_failed_search_on_the_ask_page_is_counted_apart_and_records_nothing(site, answer, monkeypatch):
    """The page still works without suggestions; the failure is a refusal "search_failed",
    never a search that found nothing (no suggestions_shown, no content gap)."""
    from community import search

    def broken(*args, **kwargs):
        raise search.SearchUnavailable("index unreadable")

    visitor = site.visitor()
    sid = visitor.open_page("/ask")
    monkeypatch.setattr(search, "suggest", broken)
    page = visitor.get("/ask?title=reset+password+mobile")
    assert page.status_code == 200 and b"reset password mobile" in page.data
    contact = visitor.get("/support/contact?subject=reset+password+mobile")
    assert contact.status_code == 200
    monkeypatch.undo()
    site.at(minutes(60))
    body = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert refused(body, "search_failed") == 2
    assert body["content_gaps"] == []
    kinds = db.session.execute(select(AskEvent.kind).where(AskEvent.session_id == sid)).scalars().all()
    assert "suggestions_shown" not in kinds


def test_the_address_limit_holds_across_signed_in_members_and_says_why(site, answer):
    """Two members behind one address, each in their own browser: the per-address confirmation
    limit (3 a minute) counts both; the fourth confirmation is a 429 that names the limit."""
    site.app.config["DEFLECTION_CONFIRM_RATE_LIMIT"] = "3 per minute"
    first, second = site.visitor(address="10.7.7.7"), site.visitor(address="10.7.7.7")
    first.login(site.user())
    second.login(site.user())
    sessions_ = []
    for visitor in (first, second):
        sid = visitor.open_page()
        visitor.suggest(sid, "reset password")
        assert visitor.open(sid, answer.id).status_code == 302
        sessions_.append(sid)
    replies = [first.confirm(sessions_[0], answer.id), first.confirm(sessions_[0], answer.id),
               second.confirm(sessions_[1], answer.id), second.confirm(sessions_[1], answer.id)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    error = replies[-1].get_json()["error"]
    assert error["code"] == "rate_limited" and "3 per 1 minute" in error["message"]
    site.at(minutes(60))
    body = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert refused(body, "confirm_limit") == 1 and refused(body, "confirm_repeat") == 1
    assert body["confirmed_deflections"] == 2


def test_the_open_limit_counts_every_browser_behind_one_address(site, answer):
    """Two browsers (two visitor cookies) behind one address: each opens twice, under its own
    limit of 3 a minute; the address's fourth opening is a 429, counted ``open_limit``."""
    site.app.config["DEFLECTION_OPEN_RATE_LIMIT"] = "3 per minute"
    first, second = site.visitor(address="10.8.8.8"), site.visitor(address="10.8.8.8")
    statuses = []
    for visitor in (first, second):
        sid = visitor.open_page()
        visitor.suggest(sid, "reset password")
        statuses += [visitor.open(sid, answer.id).status_code for _ in range(2)]
    assert statuses == [302, 302, 302, 429]
    site.at(minutes(60))
    assert refused(site.report(now=minutes(60)), "open_limit") == 1


def test_with_the_exclusion_off_a_rig_behind_one_address_may_start_more_than_20_sessions_a_minute(site):
    """25 cookieless page views from one address in one minute: 20 sessions and 5 refused while
    automated traffic is excluded; 25 sessions and none refused with the exclusion off."""
    for excluded, address in ((True, "192.0.2.7"), (False, "192.0.2.8")):
        site.app.config["DEFLECTION_EXCLUDE_AUTOMATED"] = excluded
        made = [site.visitor(address=address).open_page(beacon=False) for _ in range(25)]
        assert sum(bool(sid) for sid in made) == (20 if excluded else 25)
    site.at(minutes(60))
    body = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert refused(body, "address_rate") == 5 and sessions() == 45
