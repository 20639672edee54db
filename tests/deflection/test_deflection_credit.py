"""Credit where it is due: "Helped N customers" and the answer author's bonus, through HTTP.

A counted confirmation credits the thread and its accepted answer's author (+2,
``deflection_helped`` in the ledger); a contact by the same visitor within the
attribution window fails it and reverses the bonus; the author's own sessions and
excluded (script-less) confirmations earn nothing.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from community.extensions import db
from community.models import AskSession, DeflectionCredit, ReputationEvent, User
from community.services.deflection import credit
from community.services.forum import accepting
from community.services.forum import threads as forum_threads
from tests.deflection.conftest import minutes
from tests.deflection.test_deflection_metrics import Flow

DAY = 24 * 60


class Credited(Flow):
    """The flow's threads, where t1 has an accepted answer by ``helper``."""

    def __init__(self, site):
        super().__init__(site)
        self.helper = site.user("helper")
        answer = forum_threads.add_reply(self.helper, self.t1, "Update the app, then request a new link.")
        accepting.accept(self.t1.author, self.t1, answer)
        db.session.commit()
        self.answer_id = answer.id

    def deflect(self, at, *, visitor=None, member=False, beacon=True):
        self.site.at(minutes(at))
        if visitor is None:
            visitor = self.site.visitor()
            if member:
                visitor.login(member if isinstance(member, User) else self.site.user())
        sid = visitor.open_page("/ask", beacon=beacon)
        self.shown(visitor, sid, minutes(at + 1))
        self.opened(visitor, sid, minutes(at + 2))
        self.confirmed(visitor, sid, minutes(at + 3))
        return visitor, sid


def bonus_rows(user_id):
    return db.session.execute(
        select(ReputationEvent.points, ReputationEvent.reversal_of_id)
        .where(ReputationEvent.user_id == user_id, ReputationEvent.reason == "deflection_helped")
        .order_by(ReputationEvent.id)).all()


def reputation(user_id):
    db.session.expire_all()
    return db.session.get(User, user_id).reputation


def test_a_confirmation_credits_the_thread_and_the_accepted_answer_s_author(site):
    flow = Credited(site)
    before = reputation(flow.helper.id)
    visitor, _sid = flow.deflect(0)
    assert bonus_rows(flow.helper.id) == [(2, None)]
    assert reputation(flow.helper.id) == before + 2
    credit = db.session.execute(select(DeflectionCredit)).scalar_one()
    assert (credit.thread_id, credit.post_id, credit.author_id, credit.failed_at) == (
        flow.t1.id, flow.answer_id, flow.helper.id, None)

    page = visitor.get(f"/threads/{flow.t1.id}/{flow.t1.slug}").get_data(as_text=True)
    assert "Helped 1 customer without a support contact" in page
    profile = visitor.get("/users/helper").get_data(as_text=True)
    assert "<strong>1</strong> customer helped without a support contact" in profile
    assert "(1 this month)" in profile
    ranking = visitor.get("/users?sort=helped").get_data(as_text=True)
    assert ranking.index(">helper</a>") < ranking.index(f">{flow.t1.author.username}</a>")


def test_a_thread_without_an_accepted_answer_is_credited_without_a_bonus(site):
    flow = Credited(site)
    visitor = site.visitor()
    site.at(minutes(0))
    sid = visitor.open_page("/ask")
    flow.shown(visitor, sid, minutes(1), thread="t2")
    flow.opened(visitor, sid, minutes(2), thread="t2")
    flow.confirmed(visitor, sid, minutes(3), thread="t2")
    credit = db.session.execute(select(DeflectionCredit)).scalar_one()
    assert (credit.thread_id, credit.post_id, credit.author_id) == (flow.t2.id, None, None)
    assert db.session.execute(select(ReputationEvent).where(
        ReputationEvent.reason == "deflection_helped")).first() is None


def test_a_contact_within_the_window_fails_the_credit_and_reverses_the_bonus(site):
    flow = Credited(site)
    before = reputation(flow.helper.id)
    visitor, _ = flow.deflect(0)
    late_visitor, _ = flow.deflect(10)
    assert reputation(flow.helper.id) == before + 4
    # The first visitor writes to support 6 days later (inside the 7-day window) ...
    site.at(minutes(6 * DAY))
    sid = visitor.open_page("/support/contact")
    flow.support(visitor, sid, minutes(6 * DAY + 1))
    # ... the second only after 8 days: that deflection held.
    site.at(minutes(8 * DAY))
    sid = late_visitor.open_page("/support/contact")
    flow.support(late_visitor, sid, minutes(8 * DAY + 1))

    assert reputation(flow.helper.id) == before + 2
    rows = bonus_rows(flow.helper.id)
    assert [points for points, _ in rows] == [2, 2, -2]
    failed = db.session.execute(select(DeflectionCredit).where(DeflectionCredit.failed_at.is_not(None))).scalars().all()
    assert [c.created_at for c in failed] == [minutes(3)]
    page = late_visitor.get(f"/threads/{flow.t1.id}/{flow.t1.slug}").get_data(as_text=True)
    assert "Helped 1 customer without a support contact" in page


def test_a_member_s_contact_from_another_browser_fails_only_that_member_s_credit(site):
    """dana and lee each confirmed a deflection, signed in; dana writes to support from another
    browser (another cookie): only dana's credit fails, found by her account."""
    flow = Credited(site)
    dana, lee = site.user("dana"), site.user("lee")
    flow.deflect(0, member=dana)
    flow.deflect(10, member=lee)
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2]
    site.at(minutes(60))
    laptop = site.visitor()
    laptop.login(dana)
    flow.support(laptop, laptop.open_page("/support/contact"), minutes(61))

    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2, -2]
    page = laptop.get(f"/threads/{flow.t1.id}/{flow.t1.slug}").get_data(as_text=True)
    assert "Helped 1 customer without a support contact" in page
    failed = db.session.execute(select(DeflectionCredit.user_id).where(DeflectionCredit.failed_at.is_not(None))).scalars().all()
    assert failed == [dana.id]


def test_a_question_posted_afterwards_fails_it_too_and_only_once(site):
    flow = Credited(site)
    visitor, sid = flow.deflect(0, member=True)  # posting a question needs an account
    flow.question(visitor, sid, minutes(5))
    site.at(minutes(40))
    sid2 = visitor.open_page("/ask")
    flow.question(visitor, sid2, minutes(41))
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, -2]


def test_the_author_s_own_sessions_earn_no_bonus(site):
    flow = Credited(site)
    before = reputation(flow.helper.id)
    # Signed in as the author ...
    flow.deflect(0, member=flow.helper)
    # ... and later signed out in the same browser (the visitor cookie the author used).
    author_browser = site.visitor()
    author_browser.login(flow.helper)
    site.at(minutes(100))
    author_browser.open_page("/ask")
    author_browser.post("/logout")
    flow.deflect(200, visitor=author_browser)
    assert bonus_rows(flow.helper.id) == []
    assert reputation(flow.helper.id) == before
    assert db.session.execute(select(DeflectionCredit.author_id)).scalars().all() == [flow.helper.id] * 2


def test_a_confirmation_without_the_page_script_credits_nothing(site):
    flow = Credited(site)
    flow.deflect(0, beacon=False)
    assert db.session.execute(select(DeflectionCredit)).first() is None
    assert bonus_rows(flow.helper.id) == []


def test_the_bonus_stays_under_the_daily_cap(site):
    flow = Credited(site)
    site.app.config["REPUTATION_DAILY_CAP"] = 3
    for n in range(3):
        flow.deflect(n * 10)
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 1, 0]


def test_the_window_is_the_configured_attribution_window(site):
    flow = Credited(site)
    site.app.config["DEFLECTION_WINDOW_DAYS"] = 1
    visitor, _ = flow.deflect(0)
    site.at(minutes(2 * DAY))
    sid = visitor.open_page("/support/contact")
    flow.support(visitor, sid, minutes(2 * DAY + 1))
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2]
    assert timedelta(days=1) < minutes(2 * DAY + 1) - minutes(3)


def test_a_contact_just_inside_the_window_fails_the_credit(site):
    flow = Credited(site)
    site.app.config["DEFLECTION_WINDOW_DAYS"] = 1
    visitor, _ = flow.deflect(0)
    site.at(minutes(23 * 60))                      # 23 hours after the confirmation
    sid = visitor.open_page("/support/contact")
    flow.support(visitor, sid, minutes(23 * 60 + 1))
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, -2]


def test_at_most_the_hourly_cap_of_confirmations_from_one_address_are_credited(site):
    flow = Credited(site)
    site.app.config["DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR"] = 2
    for n in range(3):
        flow.deflect(n * 5, visitor=site.visitor(address="10.9.9.9"))
    assert db.session.query(DeflectionCredit).count() == 2
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2]


def test_customers_helped_on_profiles_and_the_contributors_ranking_count_exactly(site):
    """helper: 1 credit in February and 2 in March; second: 1 held and 1 failed in March."""
    import re

    flow = Credited(site)
    second = site.user("second")
    answer = forum_threads.add_reply(second, flow.t2, "Open the invoice in another browser, then save it.")
    accepting.accept(flow.t2.author, flow.t2, answer)
    db.session.commit()

    def deflect(at, thread):
        site.at(at)
        visitor = site.visitor()
        sid = visitor.open_page()
        flow.shown(visitor, sid, at, thread=thread)
        flow.opened(visitor, sid, at, thread=thread)
        flow.confirmed(visitor, sid, at, thread=thread)
        return visitor

    deflect(minutes(-10 * DAY), "t1")                  # 20 February
    deflect(minutes(0), "t1")
    deflect(minutes(10), "t1")
    deflect(minutes(20), "t2")
    fails = deflect(minutes(30), "t2")
    site.at(minutes(90))
    flow.support(fails, fails.open_page("/support/contact"), minutes(91))
    browser = site.visitor()

    def profile(name):
        html = browser.get(f"/users/{name}").get_data(as_text=True)
        return re.search(r"<strong>(\d+)</strong> customers? helped without a support contact"
                         r"(?: <span class=\"muted\">\((\d+) this month\)</span>)?", html).groups()

    assert profile("helper") == ("3", "2") and profile("second") == ("1", "1")
    own = site.visitor()
    own.login(flow.helper)
    mine = own.get("/users/helper").get_data(as_text=True)
    assert ("Your answers helped <strong>3</strong> customers without a support contact"
            ' <span class="muted">(2 this month)</span>') in mine
    assert profile(flow.t1.author.username) == ("0", None)
    rows = re.findall(r'<tr><td><a href="/users/([^"]+)">.*?</td>\s*<td>[\d,]+</td><td>(\d+)</td>',
                      browser.get("/users?sort=helped").get_data(as_text=True), re.S)
    assert rows[:2] == [("helper", "3"), ("second", "1")] and {n for _, n in rows[2:]} == {"0"}
    listed = re.findall(r'<tr><td><a href="/users/([^"]+)">.*?</td>\s*<td>[\d,]+</td><td>(\d+)</td>',
                        browser.get("/users").get_data(as_text=True), re.S)
    by_reputation = dict(listed)
    assert (by_reputation["helper"], by_reputation["second"], by_reputation[flow.t1.author.username]) == (
        "3", "1", "0")
    # after the members who helped, the others in the reputation order of /users
    assert [name for name, _ in rows[2:]] == [name for name, _ in listed if name not in ("helper", "second")]
    assert len({u.reputation for u in db.session.execute(select(User)).scalars()}) > 1


def test_the_contributors_ranking_is_customers_helped_then_reputation_then_seniority(site):
    """helper 2 held, second 1 held (and 1 failed, which does not count); among members who helped
    nobody, the higher reputation first and, at equal reputation, the earlier member."""
    import re

    from community.services.forum import reputation as ledger

    flow = Credited(site)
    second = site.user("second")
    answer = forum_threads.add_reply(second, flow.t2, "Open the invoice in another browser, then save it.")
    accepting.accept(flow.t2.author, flow.t2, answer)
    rich, twin_a, twin_b = site.user("rich"), site.user("twin_a"), site.user("twin_b")
    for user, points in ((rich, 500), (twin_a, 300), (twin_b, 300), (flow.t1.author, -100),
                         (flow.t2.author, -100), (flow.helper, -100), (second, -100)):
        ledger.award(user.id, "answer_accepted", points=points)
    db.session.commit()

    for n, thread in enumerate(("t1", "t1", "t2", "t2")):
        site.at(minutes(n * 10))
        visitor = site.visitor()
        sid = visitor.open_page()
        flow.shown(visitor, sid, minutes(n * 10), thread=thread)
        flow.opened(visitor, sid, minutes(n * 10 + 1), thread=thread)
        flow.confirmed(visitor, sid, minutes(n * 10 + 2), thread=thread)
        last = visitor
    site.at(minutes(60))
    flow.support(last, last.open_page("/support/contact"), minutes(61))   # second's 2nd credit fails

    page = site.visitor().get("/users?sort=helped").get_data(as_text=True)
    rows = re.findall(r'<tr><td><a href="/users/([^"]+)">.*?</td>\s*<td>(-?[\d,]+)</td><td>(\d+)</td>', page, re.S)
    named = [(name, helped) for name, _, helped in rows]
    assert named[:5] == [("helper", "2"), ("second", "1"), ("rich", "0"), ("twin_a", "0"), ("twin_b", "0")]
    # helper's and second's reputation are below every member who helped nobody: only the count ranks them
    reputations = {name: int(rep.replace(",", "")) for name, rep, _ in rows}
    assert reputations["helper"] < reputations["twin_b"] and reputations["second"] < reputations["twin_b"]


def test_the_address_cap_counts_confirmations_not_sessions(site):
    """Cap 2, one address: three visitors open the page, two confirm (both credited: 2 earlier
    sessions are not 2 earlier confirmations), then the third confirms: over the cap, no credit."""
    flow = Credited(site)
    site.app.config["DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR"] = 2
    people = []
    for n in range(3):
        site.at(minutes(n))
        visitor = site.visitor(address="10.9.9.9")
        people.append((visitor, visitor.open_page()))
    for n, (visitor, sid) in enumerate(people):
        flow.shown(visitor, sid, minutes(10 + n * 5))
        flow.opened(visitor, sid, minutes(11 + n * 5))
        flow.confirmed(visitor, sid, minutes(12 + n * 5))
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2]
    page = site.visitor().get(f"/threads/{flow.t1.id}/{flow.t1.slug}").get_data(as_text=True)
    assert "Helped 2 customers without a support contact" in page


def test_a_cap_of_0_credits_every_confirmation_of_an_address(site):
    flow = Credited(site)
    site.app.config["DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR"] = 0   # no cap
    for n in range(3):
        flow.deflect(n * 5, visitor=site.visitor(address="10.9.9.9"))
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2, 2]
    page = site.visitor().get(f"/threads/{flow.t1.id}/{flow.t1.slug}").get_data(as_text=True)
    assert "Helped 3 customers without a support contact" in page


def test_deleting_the_accepted_answer_takes_back_its_deflection_bonus(site):
    """The bonus belongs to the answer (its ledger row names the post): deleting the answer
    reverses it with the accept's points, and the author's total is what it was before."""
    flow = Credited(site)
    before_accept = reputation(flow.helper.id) - 15
    flow.deflect(0)
    assert reputation(flow.helper.id) == before_accept + 15 + 2
    author = site.visitor()
    author.login(flow.helper)
    author.get(f"/threads/{flow.t1.id}/{flow.t1.slug}")
    assert author.post(f"/posts/{flow.answer_id}/delete").status_code == 302
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, -2]
    assert reputation(flow.helper.id) == before_accept


def test_top_threads_say_which_are_solved_and_sessions_with_opens_count_each_session_once(site):
    """S1 confirmed t1 (solved); S2 opened t2 (unsolved) twice and left: inferred; S3 was shown
    suggestions and opened none."""
    flow = Credited(site)
    flow.deflect(0)
    site.at(minutes(10))
    visitor, sid = flow.visit(minutes(10))
    flow.shown(visitor, sid, minutes(10), thread="t2")
    flow.opened(visitor, sid, minutes(11), thread="t2")
    flow.opened(visitor, sid, minutes(12), thread="t2")
    browsing, sid3 = flow.visit(minutes(20))
    flow.shown(browsing, sid3, minutes(20))
    site.at(minutes(120))
    body = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert (body["sessions_with_suggestions"], body["sessions_with_opens"]) == (3, 2)
    assert [(t["thread_id"], t["solved"], t["confirmed"], t["inferred"]) for t in body["top_threads"]] == [
        (flow.t1.id, True, 1, 0), (flow.t2.id, False, 0, 1)]


def test_a_confirmation_at_the_first_instant_of_the_month_counts_this_month(site):
    """Profiles count "this month" from 00:00:00 UTC on the 1st, that instant included."""
    import re

    flow = Credited(site)
    flow.deflect(-33 * 60 - 4)     # confirmed on 28 February at 23:59:00
    flow.deflect(-33 * 60 - 3)     # confirmed on 1 March at 00:00:00
    site.at(minutes(60))
    html = site.visitor().get("/users/helper").get_data(as_text=True)
    assert re.search(r"<strong>(\d+)</strong> customers? helped without a support contact"
                     r"(?: <span class=\"muted\">\((\d+) this month\)</span>)?", html).groups() == ("2", "1")


def test_a_visitor_who_confirmed_anonymously_and_writes_to_support_signed_in_fails_that_credit(site):
    """The same browser (cookie) confirmed before signing in: its contact as a member is still
    the same visitor's, so the anonymous confirmation's credit fails and its bonus is reversed."""
    flow = Credited(site)
    visitor, _ = flow.deflect(0)                        # anonymous: the credit has no user
    flow.deflect(10)                                    # another visitor's credit holds
    site.at(minutes(60))
    visitor.login(site.user("carol"))
    flow.support(visitor, visitor.open_page("/support/contact"), minutes(61))
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, 2, -2]
    failed = db.session.execute(select(DeflectionCredit.created_at, DeflectionCredit.user_id)
                                .where(DeflectionCredit.failed_at.is_not(None))).all()
    assert failed == [(minutes(3), None)]
    page = visitor.get(f"/threads/{flow.t1.id}/{flow.t1.slug}").get_data(as_text=True)
    assert "Helped 1 customer without a support contact" in page


def test_the_failure_rule_at_its_two_ends_is_one_rule_for_the_metrics_and_the_credit(site):
    """``outcomes.fails``, at its exact ends, through HTTP: a member confirms t1 on the phone at
    00:03 while the laptop (its own session, signed in as the same member) writes to support at
    that very instant; visitor B confirms at 00:13 and writes exactly 7 days later; visitor C
    confirms at 00:23 and writes 7 days and 1 second later.  The report and the credits agree:
    the first two failed (bonus reversed), C's held.  Before one rule, the metrics held the first
    (a contact strictly after) while its credit failed (``<=``)."""
    flow = Credited(site)
    member = site.user("dana")
    phone, laptop = site.visitor(), site.visitor()
    phone.login(member)
    on_phone = phone.open_page("/ask")                        # 00:00: the member's session
    on_laptop = laptop.open_page("/support/contact")          # 00:00: the laptop's own, anonymous
    assert on_laptop != on_phone
    flow.shown(phone, on_phone, minutes(1))
    flow.opened(phone, on_phone, minutes(2))
    laptop.login(member)
    assert laptop.open_page("/support/contact") == on_laptop  # the cookie's session, now the member's
    flow.confirmed(phone, on_phone, minutes(3))
    flow.support(laptop, on_laptop, minutes(3))               # the same instant
    b, _ = flow.deflect(10)                                   # confirmed at 00:13
    c, _ = flow.deflect(20)                                   # confirmed at 00:23
    week = 7 * DAY
    site.at(minutes(13 + week))
    flow.support(b, b.open_page("/support/contact"), minutes(13 + week))                 # exactly 7 days
    site.at(minutes(23 + week) + timedelta(seconds=1))
    flow.support(c, c.open_page("/support/contact"), minutes(23 + week) + timedelta(seconds=1))

    body = site.api("/api/v1/metrics/deflection?from=2026-03-02&to=2026-03-02").get_json()
    assert (body["confirmed_deflections"], body["failed_deflections"], body["held_deflections"]) == (3, 2, 1)
    failed = db.session.execute(select(DeflectionCredit.created_at, DeflectionCredit.failed_at)
                                .order_by(DeflectionCredit.created_at)).all()
    assert failed == [(minutes(3), minutes(3)), (minutes(13), minutes(13 + week)), (minutes(23), None)]
    assert [points for points, _ in bonus_rows(flow.helper.id)] == [2, -2, 2, 2, -2]
    page = c.get(f"/threads/{flow.t1.id}/{flow.t1.slug}").get_data(as_text=True)
    assert "Helped 1 customer without a support contact" in page


def test_a_contact_committed_while_a_confirmation_is_credited_fails_the_credit(site):
    """The race the visitor's lock alone does not close (PostgreSQL): the confirmation's moment is
    taken, then the visitor's contact, holding the lock first, commits and finds no credit to fail.
    The credit written after it must be written failed, with no bonus."""
    flow = Credited(site)
    before = reputation(flow.helper.id)
    visitor = site.visitor()
    site.at(minutes(0))
    sid = visitor.open_page("/ask")
    flow.shown(visitor, sid, minutes(1))
    flow.opened(visitor, sid, minutes(2))
    site.at(minutes(4))
    flow.support(visitor, visitor.open_page("/support/contact"), minutes(4))
    session = db.session.get(AskSession, sid)
    session.confirmed_at = minutes(3)
    credit.credit_confirmation(session, flow.t1, minutes(3))
    db.session.commit()
    row = db.session.execute(select(DeflectionCredit)).scalar_one()
    assert (row.kind, row.thread_id, row.created_at, row.failed_at) == ("confirmed", flow.t1.id, minutes(3), minutes(4))
    assert bonus_rows(flow.helper.id) == [] and reputation(flow.helper.id) == before
