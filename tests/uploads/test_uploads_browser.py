"""The editor in Chromium: toolbar, server preview, a draft kept across a reload, and a screenshot
added to an answer, at desktop and phone widths."""
from __future__ import annotations

import io

from PIL import Image

from tests.browser import WIDTHS, chromium, demo_site, login, needs_chromium, new_page, shoot

pytestmark = needs_chromium


def screenshot_png(path):
    Image.new("RGB", (320, 200), (220, 40, 40)).save(path, format="PNG")


def test_add_an_image_to_an_answer_and_see_it_in_the_thread(tmp_path):
    picture = tmp_path / "error-dialog.png"
    screenshot_png(picture)
    with demo_site(tmp_path) as (app, base), chromium() as browser:
        page = new_page(browser)
        login(page, base, "alice", "alice-demo-pass")
        page.goto(base + "/questions")
        page.click(".thread-row a >> nth=0")
        page.fill("#reply-body", "")
        page.click(".editor-toolbar button[aria-label=Bold]")
        page.keyboard.type("sync stops")
        page.click(".editor-toolbar button[aria-label=Preview]")
        page.wait_for_selector(".editor-preview strong:has-text('sync stops')")
        page.click(".editor-toolbar button[aria-label=Preview]")       # back to writing
        page.wait_for_timeout(600)                                       # the draft is saved after a pause
        page.reload()
        assert page.input_value("#reply-body") == "**sync stops**"        # kept in this browser
        page.fill("#reply-body", "This is the dialog I get when the sync stops: ")
        page.set_input_files(".upload-bar input[type=file]", str(picture))
        page.wait_for_selector(".upload-status:has-text('Image added.')")
        body = page.input_value("#reply-body")
        assert "![error-dialog](/uploads/" in body
        page.click("#reply button.primary")
        page.wait_for_selector("text=Your answer is posted.")
        image = page.locator(".post-body img[src^='/uploads/']").last
        image.scroll_into_view_if_needed()
        assert page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 320
        for width in WIDTHS:
            shoot(page, "thread-with-image", width)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"scrolls sideways by {overflow}px at {width}px"
        assert page.problems == []
