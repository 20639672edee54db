"""Ask, answer, vote and accept with the keyboard alone (Tab, typing, Enter, arrows), in Chromium.

Every step moves the focus with Tab until the control is reached (never a click or a
programmatic focus), checks that the focused control shows a visible focus ring, and
acts with Enter or the arrow keys.
"""
from __future__ import annotations

from tests.browser import chromium, demo_site, needs_chromium, new_page

pytestmark = needs_chromium

MAX_TABS = 120


def tab_to(page, selector: str) -> None:
    """Press Tab until ``selector`` has the focus; fail if it is not reachable or shows no focus ring."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
                return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none'; }""")
            assert ring, f"{selector} has the focus but shows no focus ring"
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def log_in(page, base, username, password):
    page.goto(f"{base}/login")
    tab_to(page, "#login")
    page.keyboard.type(username)
    tab_to(page, "#password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def test_ask_answer_vote_and_accept_with_the_keyboard_only(tmp_path):
    with demo_site(tmp_path) as (app, base), chromium() as browser:
        asker = new_page(browser)
        log_in(asker, base, "alice", "alice-demo-pass")
        asker.goto(f"{base}/ask")
        tab_to(asker, "#title")
        asker.keyboard.type("Keyboard only: exported CSV has broken umlauts")
        tab_to(asker, "#category_id")
        asker.keyboard.press("ArrowDown")
        tab_to(asker, "#body")
        asker.keyboard.type("When I export contacts to CSV, names like Jürgen come out as JÃ¼rgen in Excel.")
        tab_to(asker, "#ask-form button.primary")
        asker.keyboard.press("Enter")
        asker.wait_for_selector("h1:has-text('broken umlauts')")
        thread_url = asker.url

        helper = new_page(browser)
        log_in(helper, base, "mod", "mod-demo-pass")
        helper.goto(thread_url)
        tab_to(helper, "#reply-body")
        helper.keyboard.type("Open the CSV with Data > From Text and choose UTF-8 as the file origin.")
        tab_to(helper, "#reply button.primary")
        helper.keyboard.press("Enter")
        helper.wait_for_selector("text=Your answer is posted.")

        asker.goto(thread_url)
        tab_to(asker, "article.post-answer button.vote.up")
        asker.keyboard.press("Enter")
        asker.wait_for_selector("article.post-answer button.vote.up[aria-pressed=true]")
        tab_to(asker, "article.post-answer button.accept-button")
        asker.keyboard.press("Enter")
        asker.wait_for_selector("text=Answer accepted")
        assert asker.locator("article.post-accepted").count() == 1
        assert asker.problems == [] and helper.problems == []
