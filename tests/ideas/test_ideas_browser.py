"""Browser test: a customer finds a similar idea, posts an idea and votes; the product team answers.

Drives Debian's chromium (headless) against the app served from a thread, with
CSRF protection on, and saves screenshots under test-artifacts/ at desktop and
phone widths.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture()
def live_app(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    pytest.importorskip("playwright.sync_api")
    from community import create_app
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import threads
    from community.services.ideas import exchange

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'browser.db'}", "INSTANCE_PATH": str(tmp_path),
        "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "browser-test",
        "RATELIMIT_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    with app.app_context():
        db.create_all()
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
        db.session.commit()
        ids = {"existing": existing.id, "customer": customer.id}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", ids
    finally:
        server.shutdown()


def _login(page, base, username, password):
    page.goto(f"{base}/login")
    page.fill("#login", username)
    page.fill("#password", password)
    page.click("form button.primary")
    page.wait_for_load_state()


def _shoot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"ideas-{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_customer_posts_and_votes_product_answers(live_app):
    from playwright.sync_api import expect, sync_playwright

    app, base, ids = live_app
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport=DESKTOP)
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # The customer types a title: the similar idea appears as they type.
            _login(page, base, "carol", "carol-pass-123")
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
            page.click(".user-menu summary")      # log out is in the user menu
            page.click("form[action='/logout'] button")
            _login(page, base, "petra", "petra-pass-123")
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
            page.click(".user-menu summary")      # log out is in the user menu
            page.click("form[action='/logout'] button")
            _login(page, base, "carol", "carol-pass-123")
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
        finally:
            browser.close()
