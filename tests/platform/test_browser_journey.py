"""The core journey in a real browser (headless Chromium), with CSRF on, at desktop and phone widths.

Register, ask a question, another member answers, the asker upvotes and
accepts, and the answerer's profile shows the reputation.  Screenshots go to
``test-artifacts/`` for a human to look at.
"""
from __future__ import annotations

import pytest

from tests.browser import chromium, live_site, login, needs_chromium
from tests.browser import shoot as shoot_in

pytestmark = needs_chromium


@pytest.fixture()
def live_server(tmp_path):
    def seed():
        from community.services.forum import threads
        threads.create_category("Sync & Storage", "Files that do not sync, conflicts and quotas.")

    with live_site(tmp_path, seed, RATELIMIT_ENABLED=True) as (_, base, _):
        yield base


@pytest.fixture()
def browser():
    with chromium() as browser:
        yield browser


def register(page, base, username):
    page.goto(f"{base}/register")
    page.fill("#username", username)
    page.fill("#email", f"{username}@example.com")
    page.fill("#password", "correct-horse-battery")
    page.fill("#password2", "correct-horse-battery")
    page.click("form button.primary")
    page.wait_for_url(f"{base}/")


def shoot(page, name, width):
    shoot_in(page, name, width, folder="journey")


def test_ask_answer_accept_reputation(live_server, browser):
    from playwright.sync_api import expect

    base = live_server
    asker = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    helper = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

    register(asker, base, "asker")
    asker.click("text=Ask a question")
    asker.fill("#title", "Desktop client stuck on 'Syncing 1 file'")
    asker.select_option("#category_id", label="Sync & Storage")
    asker.fill("#body", "Since yesterday the client says **Syncing 1 file** and never finishes. Windows 11.")
    asker.fill("#tags", "sync desktop")
    asker.click("#ask-form button.primary")
    asker.wait_for_selector("h1:has-text('Syncing 1 file')")
    thread_url = asker.url
    assert "/threads/" in thread_url
    assert asker.inner_text(".post-question .post-body strong") == "Syncing 1 file"

    register(helper, base, "helper")
    helper.goto(thread_url)
    helper.fill("#reply-body", "Open **Activity → Sync issues** to see which file it is, then rename it.")
    helper.click("#reply button.primary")
    helper.wait_for_selector("text=Your answer is posted.")

    asker.goto(thread_url)
    assert asker.inner_text(".inbox .badge") == "1"          # "helper answered ..."
    answer = asker.locator("article.post-answer").first
    answer.locator("button.vote.up").click()                  # voting by fetch, no reload
    # Playwright's own polling: wait_for_function would eval in the page, which the CSP forbids.
    expect(asker.locator("article.post-answer .score").first).to_have_text("1")
    answer.locator("button.accept-button").click()
    asker.wait_for_selector("text=Answer accepted")
    assert asker.locator("article.post-accepted").count() == 1
    assert asker.locator("h1 .pill-solved").count() == 1
    shoot(asker, "thread", 1280)
    shoot(asker, "thread", 390)

    helper.goto(f"{base}/users/helper")
    assert helper.inner_text(".rep-big") == "26"              # 1 + 10 (upvote) + 15 (accepted)
    assert "1 accepted answer" in " ".join(helper.inner_text(".stat-row").split())
    assert helper.inner_text(".inbox .badge") == "1"          # "your answer was accepted"
    shoot(helper, "profile", 1280)
    shoot(helper, "profile", 390)

    asker.goto(f"{base}/")
    shoot(asker, "home", 1280)
    shoot(asker, "home", 390)
    asker.goto(f"{base}/ask")
    shoot(asker, "ask", 390)
    asker.goto(f"{base}/users/asker")
    assert asker.inner_text(".rep-big") == "3"                # 1 + 2 for accepting


def test_seeded_site_fits_desktop_and_phone(tmp_path, browser):
    """The demo community's busiest pages, looked at as a customer would (screenshots)."""
    from sqlalchemy import select

    from community.demo import seed as demo_seed
    from community.extensions import db
    from community.models import Category, Thread

    def seed():
        demo_seed.seed()
        db.session.flush()
        category = db.session.execute(select(Category).order_by(Category.id)).scalars().first().slug
        busiest = db.session.execute(select(Thread).order_by(Thread.reply_count.desc(), Thread.id)).scalars().first()
        return category, f"/threads/{busiest.id}/{busiest.slug}"

    with live_site(tmp_path, seed, RATELIMIT_ENABLED=True) as (_, base, (category, thread_path)):
        page = browser.new_page()
        login(page, base, "alice", "alice-demo-pass")
        for name, path in (("demo-home", "/"), ("demo-category", f"/categories/{category}"),
                           ("demo-thread", thread_path), ("demo-profile", "/users/alice"),
                           ("demo-notifications", "/notifications")):
            page.goto(base + path)
            assert page.locator("main").count() == 1
            for width in (1280, 390):
                shoot(page, name, width)
