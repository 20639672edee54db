"""In a real browser: a moderator escalates a thread, an agent answers publicly, and the
customer sees the "Official response" in their thread (desktop and phone widths)."""
from __future__ import annotations

import pytest

from community import urls
from community.services.accounts import users
from community.services.forum import threads
from tests.browser import ARTIFACTS as ALL_ARTIFACTS
from tests.browser import chromium, live_site, login, needs_chromium

ARTIFACTS = ALL_ARTIFACTS / "tickets"
PASSWORD = "password123"

pytestmark = needs_chromium


@pytest.fixture()
def live(tmp_path):
    # UNRESOLVED_NO_ACCEPT_DAYS=0: the fresh thread is in the unresolved queue
    with live_site(tmp_path, _seed, UNRESOLVED_NO_ACCEPT_DAYS=0) as (_, base, info):
        yield {**info, "base": base}


def _seed():
    for name, role in (("carol", "member"), ("maya", "moderator"), ("alex", "agent"), ("helper", "member")):
        users.create_user(name, f"{name}@example.com", PASSWORD, role)
    carol = users.get_by_username("carol")
    category = threads.create_category("Billing", "Invoices and payments")
    thread = threads.create_thread(carol, category, "Invoice shows the wrong VAT number",
                                   "Since March every invoice shows our old VAT number, "
                                   "although the account settings have the new one.", ["invoices", "vat"])
    threads.add_reply(users.get_by_username("helper"), thread,
                      "Did you try saving the settings page again? That fixed it for me.")
    return {"thread_url": urls.thread_url(thread), "thread_id": thread.id}


def _login(page, base, username):
    login(page, base, username, PASSWORD)


def test_escalate_reply_and_customer_sees_official_response(live):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, thread_url = live["base"], live["base"] + live["thread_url"]
    with chromium() as browser:
        # 1. the moderator escalates from the thread page
        mod = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        _login(mod, base, "maya")
        mod.goto(f"{base}/tickets/unresolved")
        expect(mod.locator(".unresolved-list")).to_contain_text("No accepted answer")
        mod.screenshot(path=str(ARTIFACTS / "0-moderator-unresolved-desktop.png"), full_page=True)
        mod.click(".unresolved-list a:has-text('Invoice shows the wrong VAT number')")
        mod.click("summary:has-text('Escalate to support')")
        mod.select_option("select[name=priority]", "high")
        mod.fill("textarea[name=note]", "Customer tried the obvious fix; likely a billing sync bug.")
        mod.click("button:has-text('Escalate to a ticket')")
        expect(mod.locator("h1.ticket-title")).to_contain_text("Invoice shows the wrong VAT number")
        expect(mod.locator(".ticket-context")).to_contain_text("Did you try saving the settings page again?")
        expect(mod.locator("body")).not_to_contain_text("Post official response")  # moderators read only
        mod.screenshot(path=str(ARTIFACTS / "1-moderator-ticket-desktop.png"), full_page=True)

        # 2. the agent takes it from the queue and replies publicly
        agent = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        _login(agent, base, "alex")
        agent.goto(f"{base}/tickets")
        expect(agent.locator(".ticket-table")).to_contain_text("Invoice shows the wrong VAT number")
        agent.screenshot(path=str(ARTIFACTS / "2-agent-queue-desktop.png"), full_page=True)
        agent.click("button:has-text('Assign to me')")
        expect(agent.locator(".ticket-table")).to_contain_text("alex")
        agent.click(".ticket-table a:has-text('Invoice shows the wrong VAT number')")
        agent.fill("#reply-body", "We found a sync bug with **VAT numbers**: it is fixed now, "
                                  "and your next invoice will show the new number.")
        agent.click("button:has-text('Post official response')")
        expect(agent.locator(".flash-success")).to_contain_text("Official response posted")
        expect(agent.locator(".timeline")).to_contain_text("Customer tried the obvious fix")
        agent.screenshot(path=str(ARTIFACTS / "3-agent-ticket-desktop.png"), full_page=True)

        # 3. the customer sees the banner and the official response, on desktop and phone
        for name, viewport in (("desktop", {"width": 1280, "height": 900}),
                               ("phone", {"width": 390, "height": 844})):
            customer = browser.new_context(viewport=viewport).new_page()
            _login(customer, base, "carol")
            customer.goto(thread_url)
            expect(customer.locator(".ticket-banner")).to_contain_text("Escalated to support")
            expect(customer.locator(".ticket-banner")).to_contain_text("Open")
            official = customer.locator(".post-official")
            expect(official).to_contain_text("Official response from support")
            expect(official).to_contain_text("it is fixed now")
            body = customer.locator("body").inner_text()
            assert "billing sync bug" not in body  # the internal note stays internal
            assert customer.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
            customer.screenshot(path=str(ARTIFACTS / f"4-customer-thread-{name}.png"), full_page=True)
            customer.goto(f"{base}/my/tickets")
            customer.click("a:has-text('Invoice shows the wrong VAT number')")
            expect(customer.locator(".timeline")).to_contain_text("it is fixed now")
            assert "billing sync bug" not in customer.locator("body").inner_text()
            customer.screenshot(path=str(ARTIFACTS / f"5-customer-ticket-{name}.png"), full_page=True)

        # the agent's pages at phone width too
        phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        _login(phone, base, "alex")
        phone.goto(f"{base}/tickets?status=all")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 391
        phone.screenshot(path=str(ARTIFACTS / "6-agent-queue-phone.png"), full_page=True)
        phone.click(".ticket-table a:has-text('Invoice shows the wrong VAT number')")
        # the click starts a navigation: wait for the ticket page before measuring it
        # (measured mid-navigation, the document had no documentElement yet in CI)
        expect(phone.locator(".timeline")).to_contain_text("it is fixed now")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 391
        phone.screenshot(path=str(ARTIFACTS / "7-agent-ticket-phone.png"), full_page=True)
