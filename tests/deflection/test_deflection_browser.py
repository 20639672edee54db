"""Headless Chromium: type on /ask, see a suggestion, open it, confirm, find the deflection counted;
the holdout arm sees no suggestions; an anonymous visitor contacts support.

On the shared kit (``tests/browser.py``): a live site with CSRF on, Chromium, log-in and the
screenshots, each at desktop (1280) and phone (390) width under test-artifacts/deflection/,
which also check that no page scrolls sideways.
"""
from __future__ import annotations

import pytest

from community.models import utcnow
from community.services.deflection import metrics
from tests.browser import WIDTHS, chromium, live_site, login, needs_chromium, new_page, shoot

pytestmark = needs_chromium
DESKTOP, PHONE = WIDTHS


def _content() -> dict:
    """Three threads, one solved by sam (the one the tests search for); an agent for /analytics."""
    from community.services.accounts import users
    from community.services.forum import accepting, threads

    billing = threads.create_category("Billing", "About things")
    account = threads.create_category("Account and login", "About things")
    asker = users.create_user("dana", "dana@example.com", "password123")
    helper = users.create_user("sam", "sam@example.com", "password123")
    users.create_user("agent1", "agent1@example.com", "password123", "agent")
    thread = threads.create_thread(asker, account, "How do I reset my password on the mobile app?",
                                   "The reset link in the app does nothing when I tap it on my phone.",
                                   ["password", "mobile"])
    answer = threads.add_reply(helper, thread, "Use the web page instead: Settings → Security → Reset password. "
                                               "The in-app link is broken on version 4.2 and fixed in 4.3.")
    accepting.accept(asker, thread, answer)
    threads.create_thread(helper, billing, "Where can I download my invoices as PDF?",
                          "I need last year's invoices for my accountant, as PDF files.")
    threads.create_thread(helper, account, "Two-factor codes from the app are rejected",
                          "Every code from the authenticator app is refused when I log in.", ["login"])
    return {"thread": thread.id}


@pytest.fixture()
def site(tmp_path):
    with live_site(tmp_path, _content, DEFLECTION_HOLDOUT=0) as served:
        yield served


@pytest.fixture()
def browser():
    with chromium() as launched:
        yield launched


def test_type_see_open_confirm_and_count(site, browser):
    app, base, seeded = site
    page = new_page(browser, DESKTOP)
    page.goto(f"{base}/ask")
    form = page.locator("form#ask-form")
    session_id = form.get_attribute("data-ask-session")
    assert len(session_id) == 32 and form.get_attribute("data-arm") == "suggestions"
    page.locator("#title").press_sequentially("cannot reset password on my phone", delay=25)
    suggestion = page.locator(".suggest-item a.suggest-title").first
    suggestion.wait_for(state="visible", timeout=10000)
    assert "reset my password" in suggestion.inner_text()
    assert page.locator(".suggest-item .pill-solved").first.is_visible()
    assert "Security" in page.locator(".suggest-snippet").first.inner_text()
    page.locator("#body").fill("The link does nothing when I tap it.")
    shoot(page, "ask-suggestions", DESKTOP, "deflection")

    suggestion.click()
    yes = page.locator('[data-deflect="yes"]')
    yes.wait_for(state="visible", timeout=10000)
    shoot(page, "thread-prompt", DESKTOP, "deflection")
    yes.click()
    page.get_by_text("Glad this solved it").wait_for(timeout=10000)

    with app.app_context():
        report = metrics.deflection_report(utcnow().date(), utcnow().date())
    assert (report["sessions"], report["sessions_with_suggestions"], report["confirmed_deflections"],
            report["deflection_rate"]) == (1, 1, 1, 1.0)
    assert report["top_threads"][0]["thread_id"] == seeded["thread"]

    # Solved: the draft kept in this browser is discarded.
    page.goto(f"{base}/ask")
    assert page.locator("#body").input_value() == ""

    # A phone: another browser, "I still need help" goes back to the form with what was typed.
    mobile = new_page(browser, PHONE)
    mobile.goto(f"{base}/ask")
    mobile.locator("#title").press_sequentially("download invoices pdf", delay=25)
    mobile.locator("#body").fill("My accountant needs them.")
    mobile.locator(".suggest-item a").first.wait_for(state="visible", timeout=10000)
    shoot(mobile, "ask-suggestions", PHONE, "deflection")
    mobile.locator(".suggest-item a").first.click()
    mobile.locator('[data-deflect="yes"]').wait_for(state="visible", timeout=10000)
    shoot(mobile, "thread-prompt", PHONE, "deflection")
    mobile.locator('[data-deflect="no"]').click()
    mobile.wait_for_url("**/ask?resume=1")
    assert mobile.locator("#title").input_value() == "download invoices pdf"
    assert mobile.locator("#body").input_value() == "My accountant needs them."

    # The analytics page, as an agent: every column of every table in view on a desktop (a phone
    # scrolls the tables inside their frame, never the page).
    agent = new_page(browser, DESKTOP)
    login(agent, base, "agent1", "password123")
    agent.goto(f"{base}/analytics")
    assert agent.locator(".kpi").count() >= 6
    hidden = agent.evaluate("""[...document.querySelectorAll('.table-wrap')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.querySelector('th').innerText)""")
    assert hidden == []
    for width in WIDTHS:
        shoot(agent, "analytics", width, "deflection")
    for opened in (page, mobile, agent):
        assert opened.problems == []
        opened.context.close()


def _form_fields(page, form: str) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(f"form#{form} input, form#{form} textarea, form#{form} select, "
                                     f"form#{form} button", "els => els.map(e => [e.tagName, e.name || e.innerText])")


def test_holdout_session_sees_no_suggestions_and_suggestions_session_does(site, browser):
    """The holdout arm's page makes no suggest call and shows nothing; the form is otherwise the
    same (its fields and buttons); a suggestions session on the same page sees the thread."""
    app, base, _ = site
    fields = {}
    for share, arm in ((1, "holdout"), (0, "suggestions")):
        app.config["DEFLECTION_HOLDOUT"] = share
        for width in WIDTHS:
            page = new_page(browser, width)
            calls = []
            page.on("request", lambda req, calls=calls: "/api/v1/suggest" in req.url and calls.append(req.url))
            page.goto(f"{base}/ask")
            assert page.locator("form#ask-form").get_attribute("data-arm") == arm
            fields[arm, width] = _form_fields(page, "ask-form")
            page.locator("#title").press_sequentially("reset password mobile", delay=25)
            page.locator("#body").fill("The link does nothing when I tap it.")
            if arm == "suggestions":
                page.locator(".suggest-item").first.wait_for(state="visible", timeout=10000)
                assert "reset my password" in page.locator(".suggest-item a.suggest-title").first.inner_text()
                assert calls
            else:
                # The debounce is 300 ms: after a second of typing no call went out and nothing shows.
                page.wait_for_timeout(1000)
                assert calls == [] and page.locator(".suggest-item").count() == 0
            shoot(page, f"ask-arm-{arm}", width, "deflection")
            assert page.problems == []
            page.context.close()
    assert fields["holdout", DESKTOP] == fields["suggestions", DESKTOP] == fields["holdout", PHONE]


def test_anonymous_contact_with_suggestions_then_confirmation(site, browser):
    from sqlalchemy import select

    from community.extensions import db
    from community.models import Ticket

    app, base, _ = site
    for width in WIDTHS:
        page = new_page(browser, width)
        page.goto(f"{base}/support/contact")
        form = page.locator("form#contact-form")
        session_id = form.get_attribute("data-ask-session")
        page.fill("#name", "Ann Lee")
        page.fill("#email", f"ann-{width}@example.com")
        page.locator("#subject").press_sequentially("password reset link broken", delay=25)
        page.locator(".suggest-item a").first.wait_for(state="visible", timeout=10000)
        assert page.locator(".pill-idea").count() == 0  # threads only on the contact page
        page.fill("#body", "The reset link in the app does nothing at all.")
        shoot(page, "contact-suggestions", width, "deflection")
        page.get_by_role("button", name="Send to support").click()
        page.get_by_text("We got your request").wait_for(timeout=10000)
        shoot(page, "contact-sent", width, "deflection")
        with app.app_context():
            ticket = db.session.execute(select(Ticket).where(Ticket.ask_session_id == session_id)).scalar_one()
            assert ticket.requester_email == f"ann-{width}@example.com"
            assert ticket.context["queries"][-1] == "password reset link broken"
        assert page.problems == []
        page.context.close()
