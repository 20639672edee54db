"""Browser test: a customer finds a similar idea, posts an idea and votes; the product team answers.

Drives Debian's chromium (headless) against the app served from a thread, with
CSRF protection on, and saves screenshots under test-artifacts/ at desktop and
phone widths.
"""
from __future__ import annotations

import pytest

from tests.browser import WIDTHS, chromium, live_site, login, logout, needs_chromium, shoot_widths

pytestmark = needs_chromium


@pytest.fixture()
def live_app(tmp_path):
    with live_site(tmp_path, _seed) as site:
        yield site


def _seed():
    from community.services.accounts import users
    from community.services.forum import threads
    from community.services.ideas import exchange

    customer = users.create_user("carol", "carol@example.com", "carol-pass-123")
    users.create_user("petra", "petra@example.com", "petra-pass-123", role="product")
    other = users.create_user("dave", "dave@example.com", "dave-pass-123")
    mobile = threads.create_category("Mobile App", "The iOS and Android apps.")
    threads.create_category("Sync & Storage", "Files, sync and quotas.")
    existing = exchange.create_idea(other, mobile, "Dark mode for the mobile app",
                                    "The white screen at night is blinding. A dark theme please.", ["ui"])
    for n in range(3):
        voter = users.create_user(f"fan{n}", f"fan{n}@example.com", "fan-pass-1234")
        exchange.set_vote(voter, existing, 1)
    return {"existing": existing.id, "customer": customer.id}


def _shoot(page, name):
    shoot_widths(page, f"ideas-{name}", "ideas")


def test_customer_posts_and_votes_product_answers(live_app):
    from playwright.sync_api import expect

    app, base, ids = live_app
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # The customer types a title: the similar idea appears as they type.
        login(page, base, "carol", "carol-pass-123")
        page.goto(f"{base}/ideas/new")
        page.type("#title", "dark theme for the app", delay=20)
        page.wait_for_selector("#similar-ideas:not([hidden]) li")
        assert "Dark mode for the mobile app" in page.inner_text("#similar-ideas")
        _shoot(page, "new-form")

        # ...votes for it without a reload (JS), then posts their own, different idea.
        page.goto(f"{base}/ideas/{ids['existing']}")
        page.click(".idea-vote-form button.idea-vote")
        # Playwright's own polling: wait_for_function would eval in the page (CSP forbids it).
        expect(page.locator("[data-vote-count]").first).to_have_text("5")
        assert page.get_attribute(".idea-vote-form button.idea-vote", "aria-pressed") == "true"
        page.reload()
        assert page.inner_text("[data-vote-count]").strip() == "5"   # it was stored

        page.goto(f"{base}/ideas/new")
        page.fill("#title", "Offline reading for saved articles")
        page.select_option("#category_id", label="Mobile App")
        page.fill("#body", "On the train I lose the connection. Let me save articles to read *offline*.")
        page.fill("#tags", "offline, mobile")
        page.click("#idea-form button.primary")
        page.wait_for_selector("h1:has-text('Offline reading for saved articles')")
        assert page.inner_text("[data-vote-count]").strip() == "1"     # the author's own vote
        idea_url = page.url
        _shoot(page, "customer-idea")

        # The product team sets a status with an official response.
        logout(page)
        login(page, base, "petra", "petra-pass-123")
        page.goto(idea_url)
        page.select_option("#status", "planned")
        page.fill("#response", "Great idea. Offline reading is **planned** for the 5.0 release this spring.")
        page.click("#status-form button.primary")
        page.wait_for_selector("#response")
        assert "planned for the 5.0 release" in page.inner_text("#response")
        assert "New → Planned" in page.inner_text(".idea-history")
        _shoot(page, "product-response")

        page.goto(f"{base}/ideas/product")
        assert "Offline reading for saved articles" in page.inner_text(".product-table")
        _shoot(page, "product-view")

        # The customer sees the response, in the list and in their notifications.
        logout(page)
        login(page, base, "carol", "carol-pass-123")
        page.goto(f"{base}/ideas")
        assert "Offline reading is planned" in page.inner_text(".idea-list")
        _shoot(page, "list")
        page.goto(f"{base}/notifications")
        assert "is now planned" in page.inner_text("main")
        unread = page.locator(".notifications li.unread").count()
        # Opening it is a form (POST with its CSRF token): it goes to the idea and marks it read.
        page.locator(".notifications li.unread button", has_text="is now planned").first.click()
        page.wait_for_url(f"{base}/ideas/**")
        page.goto(f"{base}/notifications")
        assert page.locator(".notifications li.unread").count() == unread - 1
        assert not errors, errors
