"""The core journey in a real browser (headless Chromium), with CSRF on, at desktop and phone widths.

Register, ask a question, another member answers, the asker upvotes and
accepts, and the answerer's profile shows the reputation.  Screenshots go to
``test-artifacts/`` for a human to look at.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture()
def live_server(tmp_path):
    from community import create_app
    from community.extensions import db
    from community.services.forum import threads

    app = create_app({
        "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.db'}",
        "SECRET_KEY": "browser-test", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    with app.app_context():
        db.create_all()
        threads.create_category("Sync & Storage", "Files that do not sync, conflicts and quotas.")
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture()
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


def register(page, base, username):
    page.goto(f"{base}/register")
    page.fill("#username", username)
    page.fill("#email", f"{username}@example.com")
    page.fill("#password", "correct-horse-battery")
    page.fill("#password2", "correct-horse-battery")
    page.click("form button.primary")
    page.wait_for_url(f"{base}/")


def shoot(page, name, width):
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"


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

    from community import create_app
    from community.demo import seed as demo_seed
    from community.extensions import db
    from community.models import Category, Thread

    app = create_app({
        "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.db'}",
        "SECRET_KEY": "browser-test", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    with app.app_context():
        db.create_all()
        demo_seed.seed()
        db.session.commit()
        category = db.session.execute(select(Category).order_by(Category.id)).scalars().first().slug
        busiest = db.session.execute(select(Thread).order_by(Thread.reply_count.desc(), Thread.id)).scalars().first()
        thread_path = f"/threads/{busiest.id}/{busiest.slug}"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.fill("#login", "alice")
        page.fill("#password", "alice-demo-pass")
        page.click("form button.primary")
        page.wait_for_url(f"{base}/")
        for name, path in (("demo-home", "/"), ("demo-category", f"/categories/{category}"),
                           ("demo-thread", thread_path), ("demo-profile", "/users/alice"),
                           ("demo-notifications", "/notifications")):
            page.goto(base + path)
            assert page.locator("main").count() == 1
            for width in (1280, 390):
                shoot(page, name, width)
    finally:
        server.shutdown()
        serving.join(timeout=5)
