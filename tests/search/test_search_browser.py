"""The search page in headless Chromium, desktop and phone widths (screenshots in test-artifacts/)."""
from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from community import search
from community.services.forum import accepting

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_search_page_renders_on_desktop_and_phone(app, make, db):
    playwright = pytest.importorskip("playwright.sync_api")
    category = make.category("Sync & Storage")
    for n, title in enumerate(["Desktop app stuck on syncing one file forever",
                               "Sync conflicts create duplicate copies of my files",
                               "Selective sync settings reset after an update"]):
        thread = make.thread(category=category, title=title, tags=["sync", "desktop"],
                             body="Since yesterday the desktop client says syncing and never finishes.")
        thread.created_at = datetime(2026, 1, 1 + n)
        if n == 0:
            reply = make.reply(thread, body="Open Activity, then Sync issues, rename the file with the long name.")
            accepting.accept(thread.author, thread, reply)
            db.session.commit()
    db.session.commit()
    search.rebuild()  # one segment without the updated copies: document counts as on a fresh site
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                        args=["--headless", "--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])
            for name, size in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
                page = browser.new_page(viewport=size)
                page.goto(f"http://127.0.0.1:{server.server_port}/search?q=sync+stuck+file")
                assert page.locator(".search-result").count() == 3
                assert page.locator(".search-result mark").count() >= 3
                assert page.locator(".pill-solved").count() == 1
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= size["width"], f"horizontal scroll on {name}"
                page.screenshot(path=str(ARTIFACTS / f"search-{name}.png"), full_page=True)
                # Sorting is a click away, says which order is on, and survives applying a filter.
                with page.expect_navigation():
                    page.get_by_role("navigation", name="Sort results").get_by_role("link", name="Newest").click()
                assert page.locator(".search-sort a[aria-current]").inner_text() == "Newest"
                titles = page.locator(".search-result h3 a").all_inner_texts()
                assert titles[0] == "Selective sync settings reset after an update", titles  # the last one asked
                page.get_by_label("Solved only").check()
                with page.expect_navigation():
                    page.get_by_role("button", name="Apply filters").click()
                assert "sort=newest" in page.url and page.locator(".search-result").count() == 1, page.locator("main").inner_text()[:600]
                assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
                page.screenshot(path=str(ARTIFACTS / f"search-sorted-{name}.png"), full_page=True)
                page.goto(f"http://127.0.0.1:{server.server_port}/search?q=nothing+matches+zzz")
                assert page.get_by_role("link", name="Ask the community").count() >= 1
                page.screenshot(path=str(ARTIFACTS / f"search-empty-{name}.png"), full_page=True)
            browser.close()
    finally:
        server.shutdown()
