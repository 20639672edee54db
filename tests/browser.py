"""What every browser test shares: a live site served from a thread, Chromium, log-in,
screenshots and axe-core."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@contextmanager
def live_site(tmp_path, seed=None, **config):
    """The app served on a free port with CSRF and the CSP on (as in production).

    ``seed`` runs inside the app context before the server starts and may return what the
    test needs to know (ids, urls); it is committed. Yields ``(app, base_url, seeded)``.
    """
    from community import create_app
    from community.extensions import db

    app = create_app({
        "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'site.db'}",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "browser-test",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "RATELIMIT_ENABLED": False, **config,
    })
    with app.app_context():
        db.create_all()
        seeded = seed() if seed else None
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", seeded
    finally:
        server.shutdown()
        serving.join(timeout=5)


@contextmanager
def demo_site(tmp_path, **config):
    """The demo community served live; yields ``(app, base_url)``."""
    from community.demo import seed as demo_seed

    with live_site(tmp_path, demo_seed.seed, **config) as (app, base, _):
        yield app, base


@contextmanager
def chromium():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width=1280):
    """A page that fails the test on a pop-up dialog or a CSP violation."""
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.problems = []
    page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("console", lambda m: page.problems.append(f"console: {m.text}")
            if m.type == "error" and "Content Security Policy" in m.text else None)
    return page


def login(page, base, username, password):
    page.goto(f"{base}/login")
    page.fill("#login", username)
    page.fill("#password", password)
    page.click("form button.primary")
    page.wait_for_url(lambda url: "/login" not in url)


def logout(page):
    """Log out from the user menu (a POST form with its CSRF token)."""
    page.click(".user-menu summary")
    page.click("form[action='/logout'] button")
    page.wait_for_load_state()


def shoot(page, name, width, folder="pages"):
    """A full-page screenshot at ``width`` under test-artifacts/``folder``; the page must not
    scroll sideways."""
    (ARTIFACTS / folder).mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / folder / f"{name}-{width}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"


def shoot_widths(page, name, folder):
    """``shoot`` at every width of WIDTHS, then back to the desktop width."""
    for width in WIDTHS:
        shoot(page, name, width, folder)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def axe_violations(page, impacts=("critical", "serious")):
    """axe-core's violations of the given impacts on the current page, as readable strings.

    The script is evaluated through the DevTools protocol, which the page's
    CSP does not govern (an injected <script> would be refused).
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in result["violations"] if v["impact"] in impacts]
