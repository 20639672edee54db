"""Inferred deflections that held earn credit too, through HTTP and ``flask deflection credit``.

A visitor who opened a suggested thread and left without a contact is an inferred deflection
(docs/metrics.md); once the session has ended (no activity for ``DEFLECTION_SESSION_MINUTES``)
and the inferred window has elapsed, the job credits the thread and its accepted answer's
author (+2), under the same exclusions and caps as a confirmation, and a contact within the
attribution window takes it back.
"""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from community.extensions import db
from community.models import AskSession, DeflectionCredit
from community.services.moderation import actions
from tests.deflection.conftest import minutes
from tests.deflection.test_deflection_credit import DAY, Credited, bonus_rows, reputation


def run_job(site):
    result = site.app.test_cli_runner().invoke(args=["deflection", "credit"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def leave(flow, at, *, visitor=None, thread="t1", beacon=True, member=None):
    """A visitor searches at ``at``, opens ``thread`` a minute later and leaves."""
    flow.site.at(minutes(at))
    visitor = visitor or flow.site.visitor()
    if member is not None:
        visitor.login(member)
    sid = visitor.open_page("/ask", beacon=beacon)
    flow.shown(visitor, sid, minutes(at), thread=thread)
    flow.opened(visitor, sid, minutes(at + 1), thread=thread)
    return visitor, sid


def helped(site, thread):
    page = site.visitor().get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    found = re.search(r"Helped (\d+) customers? without a support contact", page)
    return int(found.group(1)) if found else 0


def credits():
    return db.session.execute(select(DeflectionCredit.kind, DeflectionCredit.thread_id, DeflectionCredit.created_at,
                                     DeflectionCredit.failed_at).order_by(DeflectionCredit.id)).all()


def test_an_inferred_deflection_is_credited_once_its_session_has_ended_without_a_contact(site):
    flow = Credited(site)
    before = reputation(flow.helper.id)
    leave(flow, 0)                                  # opened t1 at 00:01, then left
    site.at(minutes(20))                            # the session and the window (to 00:31) are running
    assert run_job(site) == ("judged 0 sessions: credited 0, failed 0, kept 0, excluded 0, hidden 0, none 0, "
                             "pending 0")
    site.at(minutes(31))                            # 00:31: the window ends now; 30 minutes idle is still open
    assert run_job(site).startswith("judged 0 sessions")
    site.at(minutes(31) + timedelta(seconds=1))     # a second more: the session has ended too
    assert run_job(site).startswith("judged 1 sessions: credited 1,")
    assert credits() == [("inferred", flow.t1.id, minutes(1), None)]
    assert bonus_rows(flow.helper.id) == [(2, None)]
    assert reputation(flow.helper.id) == before + 2
    assert helped(site, flow.t1) == 1
    html = site.visitor().get("/users/helper").get_data(as_text=True)
    assert "<strong>1</strong> customer helped without a support contact" in html
    # Twice, or once more after more time: still one credit, one bonus.
    assert run_job(site).startswith("judged 0 sessions")
    site.at(minutes(3 * 60))
    assert run_job(site).startswith("judged 0 sessions")
    assert bonus_rows(flow.helper.id) == [(2, None)] and len(credits()) == 1


def test_a_session_still_active_is_not_credited_until_it_ends(site):
    """Opened t1 at 00:01, came back to the form at 00:20 (the session continues): the inferred
    window ended at 00:31 but the session only at 00:50."""
    flow = Credited(site)
    visitor, sid = leave(flow, 0)
    site.at(minutes(20))
    assert visitor.open_page("/ask") == sid
    site.at(minutes(40))
    assert run_job(site).startswith("judged 0 sessions")
    site.at(minutes(51))
    assert run_job(site).startswith("judged 1 sessions: credited 1,")
    assert credits() == [("inferred", flow.t1.id, minutes(1), None)]


def test_a_contact_within_the_window_fails_the_inferred_credit_and_reverses_its_bonus(site):
    flow = Credited(site)
    before = reputation(flow.helper.id)
    fails, _ = leave(flow, 0)
    holds, _ = leave(flow, 10)
    site.at(minutes(60))
    run_job(site)
    assert reputation(flow.helper.id) == before + 4 and helped(site, flow.t1) == 2
    site.at(minutes(3 * DAY))                       # 3 days later: inside the 7-day window
    flow.support(fails, fails.open_page("/support/contact"), minutes(3 * DAY + 1))
    site.at(minutes(8 * DAY + 11))                  # 8 days after the other one's opening: outside
    flow.support(holds, holds.open_page("/support/contact"), minutes(8 * DAY + 12))
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2, -2]
    assert reputation(flow.helper.id) == before + 2 and helped(site, flow.t1) == 1
    assert credits() == [("inferred", flow.t1.id, minutes(1), minutes(3 * DAY + 1)),
                         ("inferred", flow.t1.id, minutes(11), None)]


def test_a_contact_before_the_job_ran_is_credited_as_failed_without_a_bonus(site):
    """The window of 30 minutes passed without a contact, then the visitor wrote to support the
    next day, before any run of the job: the deflection failed (the metrics agree), no points."""
    flow = Credited(site)
    visitor, _ = leave(flow, 0)
    site.at(minutes(DAY))
    flow.support(visitor, visitor.open_page("/support/contact"), minutes(DAY + 1))
    out = run_job(site)
    assert out.startswith("judged 1 sessions: credited 0, failed 1,"), out
    assert credits() == [("inferred", flow.t1.id, minutes(1), minutes(DAY + 1))]
    assert bonus_rows(flow.helper.id) == [] and helped(site, flow.t1) == 0
    report = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert (report["inferred_deflections"], report["failed_deflections"], report["held_deflections"]) == (1, 1, 0)


def test_a_contact_inside_the_inferred_window_makes_no_deflection_and_no_credit(site):
    flow = Credited(site)
    visitor, sid = leave(flow, 0, member=site.user("dana"))
    flow.question(visitor, sid, minutes(25))        # 24 minutes after the opening
    site.at(minutes(2 * 60))
    assert run_job(site).startswith("judged 1 sessions: credited 0, failed 0, kept 0, excluded 0, hidden 0, none 1")
    assert credits() == [] and bonus_rows(flow.helper.id) == []


def test_script_less_holdout_and_hidden_thread_sessions_credit_nothing(site):
    flow = Credited(site)
    leave(flow, 0, beacon=False)                    # the page's script never ran: automated
    _, held_out = leave(flow, 10)
    db.session.execute(update(AskSession).where(AskSession.id == held_out).values(arm="holdout"))
    db.session.commit()
    leave(flow, 20, thread="t2")
    moderator = site.user(role="moderator")
    actions.hide_thread(moderator, flow.t2, reason="spam")
    db.session.commit()
    site.at(minutes(2 * 60))
    assert run_job(site) == ("judged 3 sessions: credited 0, failed 0, kept 0, excluded 2, hidden 1, none 0, "
                             "pending 0")
    assert credits() == [] and bonus_rows(flow.helper.id) == []


def test_a_holdout_visitor_cannot_open_a_suggestion_so_is_never_credited(site):
    flow = Credited(site)
    site.app.config["DEFLECTION_HOLDOUT"] = 1.0
    visitor = site.visitor()
    sid = visitor.open_page("/ask")
    assert visitor.suggest(sid, "reset password mobile") == {"results": [], "holdout": True}
    assert visitor.open(sid, flow.t1.id).status_code == 302     # forwarded, not recorded
    site.at(minutes(2 * 60))
    assert run_job(site).startswith("judged 0 sessions")
    assert credits() == []


def test_the_author_s_own_session_is_credited_without_a_bonus(site):
    flow = Credited(site)
    leave(flow, 0, member=flow.helper)
    site.at(minutes(60))
    run_job(site)
    assert [(kind, thread) for kind, thread, _, _ in credits()] == [("inferred", flow.t1.id)]
    assert bonus_rows(flow.helper.id) == []


def test_inferred_bonuses_stay_under_the_daily_cap(site):
    flow = Credited(site)
    site.app.config["REPUTATION_DAILY_CAP"] = 3
    for n in range(3):
        leave(flow, n * 10)
    site.at(minutes(2 * 60))
    run_job(site)
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 1, 0]
    assert helped(site, flow.t1) == 3


def test_one_address_gets_at_most_the_hourly_cap_of_inferred_credits_and_confirmations_keep_their_own(site):
    """Cap 2, one address, within 09:00–10:00: three visitors open t1 and leave (2 credited), then
    three confirm (2 credited): the inferred credits do not use up the confirmations' room."""
    flow = Credited(site)
    site.app.config["DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR"] = 2
    for n in range(3):
        leave(flow, n * 2, visitor=site.visitor(address="10.9.9.9"))
    site.at(minutes(40))
    assert run_job(site).startswith("judged 3 sessions: credited 2, failed 0, kept 0, excluded 1,")
    for n in range(3):
        flow.deflect(41 + n * 4, visitor=site.visitor(address="10.9.9.9"))
    assert [(kind, thread) for kind, thread, _, _ in credits()] == [("inferred", flow.t1.id)] * 2 + [
        ("confirmed", flow.t1.id)] * 2
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2, 2, 2]
    assert helped(site, flow.t1) == 4


def test_a_later_confirmation_of_the_session_replaces_its_inferred_credit(site):
    """The page stayed open: credited as inferred at 00:40, then "This solved my problem" at 00:45."""
    flow = Credited(site)
    visitor, sid = leave(flow, 0)
    site.at(minutes(40))
    run_job(site)
    flow.confirmed(visitor, sid, minutes(45))
    assert credits() == [("confirmed", flow.t1.id, minutes(45), None)]
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, -2, 2]
    assert helped(site, flow.t1) == 1
    site.at(minutes(3 * 60))
    assert run_job(site).startswith("judged 0 sessions")


def test_a_later_opening_moves_the_credit_to_the_thread_opened_last(site):
    """Credited t1 (helper +2) at 00:40; the page left open opens t2 at 00:50: at 01:30 the credit
    is t2's (no accepted answer: no bonus) and helper's points are taken back."""
    flow = Credited(site)
    visitor, sid = leave(flow, 0)
    flow.shown(visitor, sid, minutes(2), thread="t2")
    site.at(minutes(40))
    run_job(site)
    flow.opened(visitor, sid, minutes(50), thread="t2")
    site.at(minutes(70))
    assert run_job(site).startswith("judged 0 sessions")   # the session runs to 01:20 again
    site.at(minutes(90))
    assert run_job(site).startswith("judged 1 sessions: credited 1,")
    assert credits() == [("inferred", flow.t2.id, minutes(50), None)]
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, -2]
    assert (helped(site, flow.t1), helped(site, flow.t2)) == (0, 1)


def test_after_requests_the_credit_arrives_without_cron_when_due(site):
    """Every 10 minutes per process, after a request (pages of any visitor)."""
    flow = Credited(site)
    site.app.config["DEFLECTION_CREDIT_EVERY_SECONDS"] = 600

    def page(at):
        site.at(minutes(at))
        site.visitor().get("/")
        return [created for _, _, created, _ in credits()]

    leave(flow, 0)                       # its first request runs it (nothing yet): next due 00:10
    assert page(40) == [minutes(1)]      # due: the session that ended at 00:31; next due 00:50
    leave(flow, 45)                      # 00:45–00:46, not due; the session ends at 01:16
    assert page(77) == [minutes(1), minutes(46)]          # next due 01:27
    leave(flow, 100)                     # its first request runs it (nothing): due 01:50; it ends at 02:11
    assert page(125) == [minutes(1), minutes(46)]         # runs, the session is still on: due 02:15
    assert page(132) == [minutes(1), minutes(46)]         # the session has ended, but not due
    assert page(136) == [minutes(1), minutes(46), minutes(101)]
    site.app.config["DEFLECTION_CREDIT_EVERY_SECONDS"] = 0   # never after a request
    leave(flow, 150)
    assert page(300) == [minutes(1), minutes(46), minutes(101)]
    assert run_job(site).startswith("judged 1 sessions: credited 1,")


def test_helped_customers_equal_the_held_deflections_of_the_metrics(site):
    """Two confirmed and three inferred deflections of t1, one of each failing later: the thread
    shows 3, the report counts 3 held of 5, and the contributors page ranks helper first with 3."""
    flow = Credited(site)
    c1, _ = flow.deflect(0)
    flow.deflect(10)
    i1, _ = leave(flow, 20)
    leave(flow, 30)
    leave(flow, 40)
    site.at(minutes(3 * 60))
    run_job(site)
    flow.support(c1, c1.open_page("/support/contact"), minutes(3 * 60 + 1))
    site.at(minutes(4 * 60))
    flow.support(i1, i1.open_page("/support/contact"), minutes(4 * 60 + 1))
    site.at(minutes(6 * 60))
    assert helped(site, flow.t1) == 3
    report = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert (report["confirmed_deflections"], report["inferred_deflections"], report["held_deflections"],
            report["failed_deflections"]) == (2, 3, 3, 2)
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2, 2, 2, 2, -2, -2]
    page = site.visitor().get("/users?sort=helped").get_data(as_text=True)
    rows = re.findall(r'<tr><td><a href="/users/([^"]+)">.*?</td>\s*<td>[\d,]+</td><td>(\d+)</td>', page, re.S)
    assert rows[0] == ("helper", "3")


def test_sessions_that_ended_more_than_the_attribution_window_ago_are_not_judged(site):
    """The job looks back DEFLECTION_WINDOW_DAYS (here 2) of last activity: a session last active
    2 days and 1 minute ago is left alone, one active exactly 2 days ago is credited."""
    flow = Credited(site)
    site.app.config["DEFLECTION_WINDOW_DAYS"] = 2
    leave(flow, 0)                                   # last active 00:01
    leave(flow, 1)                                   # last active 00:02
    site.at(minutes(2 * DAY + 2))
    assert run_job(site).startswith("judged 1 sessions: credited 1,")
    assert [created for _, _, created, _ in credits()] == [minutes(2)]


def test_the_job_goes_through_every_page_of_candidates(site):
    """Three creditable sessions read one at a time (``page=1``): all three are credited, in the order
    of their last activity."""
    from community.services.deflection import credit

    flow = Credited(site)
    for at in (20, 0, 10):
        leave(flow, at)
    site.at(minutes(2 * 60))
    done = credit.settle_inferred(page=1)
    assert done == {"credited": 3}
    assert [created for _, _, created, _ in credits()] == [minutes(1), minutes(11), minutes(21)]
    assert credit.settle_inferred(page=1) == {}


def test_after_a_request_at_most_the_configured_number_of_sessions_is_judged(site):
    flow = Credited(site)
    site.app.config.update(DEFLECTION_CREDIT_EVERY_SECONDS=60, DEFLECTION_CREDIT_AFTER_REQUEST=1)
    leave(flow, 0)
    leave(flow, 5)
    site.at(minutes(60))
    site.visitor().get("/")
    assert len(credits()) == 1
    site.at(minutes(62))
    site.visitor().get("/")
    assert len(credits()) == 2


def test_after_requests_the_job_runs_every_300_seconds_by_default_and_never_under_testing(site, tmp_path):
    from community import create_app
    from community.services.deflection import credit

    assert credit.every_seconds(site.app) == 0                       # TESTING, not set
    production = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
                             "INSTANCE_PATH": str(tmp_path / "p"), "SECRET_KEY": "p",
                             "SEARCH_INDEX_DIR": str(tmp_path / "pi")})
    assert credit.every_seconds(production) == 300
    production.config["DEFLECTION_CREDIT_EVERY_SECONDS"] = 45
    assert credit.every_seconds(production) == 45
    assert production.config["DEFLECTION_CREDIT_AFTER_REQUEST"] == 200


def test_a_replaced_inferred_credit_takes_back_only_its_own_bonus(site):
    """Two visitors credited as inferred (+2 +2); the first then confirms from the page left open:
    only that session's bonus is reversed before the confirmation's is awarded."""
    flow = Credited(site)
    first, sid = leave(flow, 0)
    leave(flow, 5)
    site.at(minutes(60))
    run_job(site)
    flow.confirmed(first, sid, minutes(61))
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2, -2, 2]
    assert helped(site, flow.t1) == 2


def test_a_failed_inferred_credit_stays_failed_when_the_page_left_open_opens_another_thread(site):
    flow = Credited(site)
    visitor, sid = leave(flow, 0)
    flow.shown(visitor, sid, minutes(2), thread="t2")
    site.at(minutes(40))
    run_job(site)
    flow.support(visitor, visitor.open_page("/support/contact"), minutes(41))   # a new session: fails it
    flow.opened(visitor, sid, minutes(50), thread="t2")
    site.at(minutes(3 * 60))
    run_job(site)
    assert credits() == [("inferred", flow.t1.id, minutes(1), minutes(41))]
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, -2]
    assert (helped(site, flow.t1), helped(site, flow.t2)) == (0, 0)


def test_an_inferred_credit_fails_at_both_exact_ends_of_the_rule_as_the_metrics_do(site):
    """``outcomes.fails`` for an inferred deflection (at its last opening, 00:01), contacts made
    before the job runs: the member's laptop (its own session) writes to support at 00:01 exactly
    while the phone opens t1; visitor B, who opened t1 at 00:11, writes exactly 7 days later, and
    the job runs at that instant (B's session is then exactly at the job's look-back).  Each is
    written failed, without a bonus, and the report says the same: 2 inferred, 2 failed."""
    from datetime import timedelta

    flow = Credited(site)
    member = site.user("dana")
    phone, laptop = site.visitor(), site.visitor()
    phone.login(member)
    on_phone = phone.open_page("/ask")
    on_laptop = laptop.open_page("/support/contact")     # the laptop's own session
    laptop.login(member)
    assert laptop.open_page("/support/contact") == on_laptop
    flow.shown(phone, on_phone, minutes(0))
    flow.opened(phone, on_phone, minutes(1))
    flow.support(laptop, on_laptop, minutes(1))           # the very instant of the opening
    b, _ = leave(flow, 10)                                # opened t1 at 00:11
    site.at(minutes(35))                                  # the phone's session has ended, B's not
    assert run_job(site).startswith("judged 1 sessions: credited 0, failed 1,")
    week = timedelta(days=7)
    site.at(minutes(11) + week)
    flow.support(b, b.open_page("/support/contact"), minutes(11) + week)
    assert run_job(site).startswith("judged 1 sessions: credited 0, failed 1,")
    assert credits() == [("inferred", flow.t1.id, minutes(1), minutes(1)),
                         ("inferred", flow.t1.id, minutes(11), minutes(11) + week)]
    assert bonus_rows(flow.helper.id) == [] and helped(site, flow.t1) == 0
    report = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert (report["inferred_deflections"], report["failed_deflections"], report["held_deflections"]) == (2, 2, 0)


def test_another_visitor_s_contact_does_not_fail_an_inferred_credit(site):
    """Visitor A opens t1 at 00:01 and leaves; visitor B, a stranger, writes to support at 00:10,
    before the job runs at 00:40: A's credit is written held, +2, and the report agrees (1 inferred,
    1 held, 0 failed); only B's own contacts are B's (kills ``credit.x__first_contact_after__mutmut_16``,
    which read every visitor's contacts)."""
    flow = Credited(site)
    leave(flow, 0)
    stranger = site.visitor()
    site.at(minutes(10))
    flow.support(stranger, stranger.open_page("/support/contact"), minutes(10))
    site.at(minutes(40))
    assert run_job(site).startswith("judged 1 sessions: credited 1, failed 0,")
    assert credits() == [("inferred", flow.t1.id, minutes(1), None)]
    assert bonus_rows(flow.helper.id) == [(2, None)] and helped(site, flow.t1) == 1
    report = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert (report["inferred_deflections"], report["held_deflections"], report["failed_deflections"]) == (1, 1, 0)
