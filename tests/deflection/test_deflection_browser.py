"""Headless Chromium: type on /ask, see a suggestion, open it, confirm, find the deflection counted.

Screenshots of /ask with suggestions, the thread prompt and /analytics (desktop and
phone widths) go to test-artifacts/.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from community.models import utcnow
from community.services.deflection import metrics
from community.services.forum import accepting

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture()
def live_server(app):
    from werkzeug.serving import make_server

    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture()
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture()
def content(make, db):
    billing = make.category("Billing")
    account = make.category("Account and login")
    asker, helper = make.user("dana"), make.user("sam")
    thread = make.thread(author=asker, category=account, title="How do I reset my password on the mobile app?",
                         body="The reset link in the app does nothing when I tap it on my phone.",
                         tags=["password", "mobile"])
    answer = make.reply(thread, author=helper,
                        body="Use the web page instead: Settings → Security → Reset password. "
                             "The in-app link is broken on version 4.2 and fixed in 4.3.")
    accepting.accept(asker, thread, answer)
    make.thread(author=helper, category=billing, title="Where can I download my invoices as PDF?",
                body="I need last year's invoices for my accountant, as PDF files.")
    make.thread(author=helper, category=account, title="Two-factor codes from the app are rejected",
                body="Every code from the authenticator app is refused when I log in.", tags=["login"])
    db.session.commit()
    return thread


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_type_see_open_confirm_and_count(live_server, browser, content, make, app):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server}/ask")
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
    shot(page, "ask-suggestions-desktop")

    suggestion.click()
    yes = page.locator('[data-deflect="yes"]')
    yes.wait_for(state="visible", timeout=10000)
    shot(page, "thread-prompt-desktop")
    yes.click()
    page.get_by_text("Glad this solved it").wait_for(timeout=10000)

    report = metrics.deflection_report(utcnow().date(), utcnow().date())
    assert report["sessions"] == 1
    assert report["sessions_with_suggestions"] == 1
    assert report["confirmed_deflections"] == 1
    assert report["deflection_rate"] == 1.0
    assert report["top_threads"][0]["thread_id"] == content.id

    # Solved: the draft kept in this browser is discarded.
    page.goto(f"{live_server}/ask")
    assert page.locator("#body").input_value() == ""

    # Phone widths.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    mobile.goto(f"{live_server}/ask")
    mobile.locator("#title").press_sequentially("download invoices pdf", delay=25)
    mobile.locator("#body").fill("My accountant needs them.")
    mobile.locator(".suggest-item a").first.wait_for(state="visible", timeout=10000)
    shot(mobile, "ask-suggestions-phone")
    mobile.locator(".suggest-item a").first.click()
    mobile.locator('[data-deflect="yes"]').wait_for(state="visible", timeout=10000)
    shot(mobile, "thread-prompt-phone")
    mobile.locator('[data-deflect="no"]').click()
    mobile.wait_for_url("**/ask?resume=1")
    # "I still need help": back to the form with what was typed.
    assert mobile.locator("#title").input_value() == "download invoices pdf"
    assert mobile.locator("#body").input_value() == "My accountant needs them."

    # The analytics page, as an agent.
    agent = make.user("agent1", role="agent")
    for ctx, name in ((context, "desktop"), (phone, "phone")):
        p = ctx.new_page()
        p.goto(f"{live_server}/login")
        p.fill("input[name=login]", agent.username)
        p.fill("input[name=password]", "password123")
        p.locator("form button[type=submit], form button").last.click()
        p.wait_for_load_state()
        p.goto(f"{live_server}/analytics")
        assert p.locator(".kpi").count() >= 6
        if name == "desktop":   # every column of every table in view (a phone scrolls them)
            hidden = p.evaluate("""[...document.querySelectorAll('.table-wrap')]
                .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.querySelector('th').innerText)""")
            assert hidden == []
        shot(p, f"analytics-{name}")
    context.close()
    phone.close()


def _form_fields(page, form: str) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(f"form#{form} input, form#{form} textarea, form#{form} select, "
                                     f"form#{form} button", "els => els.map(e => [e.tagName, e.name || e.innerText])")


def test_holdout_session_sees_no_suggestions_and_suggestions_session_does(live_server, browser, content, app):
    """The holdout arm's page makes no suggest call and shows nothing; the form is otherwise the
    same (its fields and buttons); a suggestions session on the same page sees the thread."""
    fields = {}
    for share, arm in ((1, "holdout"), (0, "suggestions")):
        app.config["DEFLECTION_HOLDOUT"] = share
        for viewport, width in ((DESKTOP, "desktop"), (PHONE, "phone")):
            page = browser.new_context(viewport=viewport).new_page()
            calls = []
            page.on("request", lambda req, calls=calls: "/api/v1/suggest" in req.url and calls.append(req.url))
            page.goto(f"{live_server}/ask")
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
            shot(page, f"ask-arm-{arm}-{width}")
            page.context.close()
    assert fields["holdout", "desktop"] == fields["suggestions", "desktop"] == fields["holdout", "phone"]


def test_anonymous_contact_with_suggestions_then_confirmation(live_server, browser, content, db):
    from sqlalchemy import select

    from community.models import Ticket

    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = browser.new_context(viewport=viewport).new_page()
        page.goto(f"{live_server}/support/contact")
        form = page.locator("form#contact-form")
        session_id = form.get_attribute("data-ask-session")
        page.fill("#name", "Ann Lee")
        page.fill("#email", f"ann-{name}@example.com")
        page.locator("#subject").press_sequentially("password reset link broken", delay=25)
        page.locator(".suggest-item a").first.wait_for(state="visible", timeout=10000)
        assert page.locator(".pill-idea").count() == 0  # threads only on the contact page
        page.fill("#body", "The reset link in the app does nothing at all.")
        shot(page, f"contact-suggestions-{name}")
        page.get_by_role("button", name="Send to support").click()
        page.get_by_text("We got your request").wait_for(timeout=10000)
        shot(page, f"contact-sent-{name}")
        ticket = db.session.execute(select(Ticket).where(Ticket.ask_session_id == session_id)).scalar_one()
        assert ticket.requester_email == f"ann-{name}@example.com"
        assert ticket.context["queries"][-1] == "password reset link broken"
