"""A moderator locks a thread and hides a post in headless Chromium; screenshots of the tools and queue.

Runs the real app (CSRF on) on 127.0.0.1 in a thread.  Screenshots go to
``test-artifacts/moderation/`` at desktop and phone widths.
"""
from __future__ import annotations

import pytest

from community.services.accounts import users
from community.services.forum import threads
from community.services.moderation import flags
from tests.browser import ARTIFACTS as ALL_ARTIFACTS
from tests.browser import chromium, live_site, needs_chromium

ARTIFACTS = ALL_ARTIFACTS / "moderation"

pytestmark = needs_chromium


@pytest.fixture()
def live_app(tmp_path):
    with live_site(tmp_path, _seed, TESTING=True, FLAGS_TO_HIDE=2) as (app, base, _):
        yield app, base


def _seed():
    make_user = lambda name, role="member", rep=0: _user(name, role, rep)  # noqa: E731
    make_user("maria", "moderator")
    asker, helper, spammer = make_user("sam"), make_user("hana", rep=120), make_user("cheapdeals")
    flaggers = [make_user(f"member{i}", rep=40) for i in range(3)]
    printers = threads.create_category("Printers", "Printing and scanning")
    threads.create_category("Billing", "Invoices and payments")
    thread = threads.create_thread(asker, printers, "Printer prints blank pages after the firmware update",
                                 "Since yesterday's firmware update every page comes out blank. "
                                 "The ink levels are fine and the test page also prints blank.",
                                 ["printing", "firmware"])
    threads.add_reply(helper, thread, "Run the head-cleaning cycle twice from the printer's maintenance "
                                    "menu, then print the nozzle check pattern.")
    threads.add_reply(spammer, thread, "Best prices on ink cartridges, message me for a discount!!!")
    rude = threads.add_reply(spammer, thread, "Only an idiot would buy this printer in the first place.")
    other = threads.create_thread(asker, printers, "Scanner not detected over Wi-Fi on the new laptop",
                                "The scanner works over USB but the app does not find it on Wi-Fi.")
    flags.flag_post(flaggers[0], rude, "offensive", "Insulting the asker")
    flags.flag_post(flaggers[1], rude, "offensive")
    flags.flag_post(flaggers[2], other.question_post, "needs_moderator",
                    "Three days and no answer; could support look at this?")


def _user(name, role, rep):
    user = users.create_user(name, f"{name}@example.com", "password123", role)
    user.reputation_points = rep
    return user


def test_moderator_locks_and_hides(live_app):
    from playwright.sync_api import expect

    app, base = live_app
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        # A member with the privilege flags an answer, choosing a reason and writing a note.
        member = browser.new_page(viewport={"width": 1280, "height": 900})
        member.goto(f"{base}/login")
        member.get_by_label("Username or email").fill("member0")
        member.get_by_label("Password").fill("password123")
        member.get_by_role("button", name="Log in").click()
        member.goto(f"{base}/threads/1")
        answer = member.locator("article.post", has_text="head-cleaning")
        answer.locator("summary", has_text="Flag").click()
        answer.get_by_label("Off-topic").check()
        answer.get_by_label("Note (optional)").fill("This is about ink, not the blank pages")
        member.screenshot(path=str(ARTIFACTS / "flag-form-desktop.png"))
        answer.get_by_role("button", name="Send flag").click()
        expect(member.get_by_text("Thanks: your flag was sent to the moderators.")).to_be_visible()
        expect(member.locator("article.post", has_text="head-cleaning")
               .get_by_text("⚑ Flagged")).to_be_visible()
        member.context.close()

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.get_by_label("Username or email").fill("maria")
        page.get_by_label("Password").fill("password123")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

        # The review queue: the auto-hidden post and the request for a moderator.
        page.locator(".staff-menu summary").click()   # staff links are grouped in one menu
        page.get_by_role("link", name="Moderation queue").click()
        expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
        expect(page.get_by_text("Insulting the asker")).to_be_visible()
        expect(page.get_by_text("Three days and no answer")).to_be_visible()
        expect(page.get_by_text("This is about ink, not the blank pages")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "queue-desktop.png"), full_page=True)

        # Lock the thread from the thread tools.
        page.get_by_role("link", name="Printer prints blank pages after the firmware update").first.click()
        expect(page.get_by_role("heading", name="Moderator tools")).to_be_visible()
        page.get_by_role("button", name="Lock", exact=True).click()
        expect(page.get_by_text("Thread locked: only moderators can answer.")).to_be_visible()
        expect(page.locator(".thread-head .pill", has_text="Locked")).to_be_visible()

        # Hide the advertising reply with a reason.
        spam_post = page.locator("article.post", has_text="Best prices on ink cartridges")
        spam_post.locator("summary", has_text="Hide").click()
        spam_post.get_by_label("Reason").fill("Advertising ink")
        spam_post.get_by_role("button", name="Hide post").click()
        expect(page.get_by_text("Post hidden: only staff can see it.")).to_be_visible()
        hidden = page.locator("article.post", has_text="Best prices on ink cartridges")
        expect(hidden.locator(".hidden-label")).to_contain_text("Advertising ink")
        page.locator(".mod-tools").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "thread-tools-desktop.png"), full_page=True)

        # Phone width: the same pages must stay usable.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.context.add_cookies(page.context.cookies())
        phone.goto(page.url)
        expect(phone.get_by_role("heading", name="Moderator tools")).to_be_visible()
        phone.locator("article.post", has_text="head-cleaning").locator("summary", has_text="Hide").click()
        phone.screenshot(path=str(ARTIFACTS / "thread-tools-phone.png"), full_page=True)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"thread page scrolls sideways on a phone ({width}px)"
        phone.goto(f"{base}/moderation")
        phone.screenshot(path=str(ARTIFACTS / "queue-phone.png"), full_page=True)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.goto(f"{base}/moderation/audit")
        expect(phone.locator("code", has_text="thread.lock")).to_be_visible()
        phone.screenshot(path=str(ARTIFACTS / "audit-phone.png"), full_page=True)
        page.goto(f"{base}/moderation/audit")
        page.screenshot(path=str(ARTIFACTS / "audit-desktop.png"), full_page=True)

        # An anonymous visitor sees neither the hidden reply nor any tools, and cannot answer.
        visitor = browser.new_context().new_page()
        visitor.goto(f"{base}/threads/1")
        expect(visitor.get_by_text("head-cleaning cycle")).to_be_visible()
        expect(visitor.get_by_text("Best prices on ink cartridges")).to_have_count(0)
        expect(visitor.get_by_text("Only an idiot")).to_have_count(0)
        expect(visitor.get_by_text("Moderator tools")).to_have_count(0)
        expect(visitor.get_by_text("This thread is locked")).to_be_visible()
