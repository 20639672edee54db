"""The settings pages and the whole password-reset journey in headless Chromium, with mail read
from a real SMTP server on 127.0.0.1."""
from __future__ import annotations

import re

import pytest

from community.services.mail import outbox
from tests.mail_server import SmtpServer
from tests.browser import WIDTHS, axe_violations, chromium, demo_site, login, needs_chromium, new_page, shoot

pytestmark = needs_chromium


def test_settings_pages_at_desktop_and_phone_widths(tmp_path):
    with demo_site(tmp_path) as (app, base), chromium() as browser:
        page = new_page(browser)
        login(page, base, "alice", "alice-demo-pass")
        page.goto(f"{base}/settings")
        page.fill("#display_name", "Alice Martin")
        page.fill("#about", "I look after **billing** at a small shop.")
        page.fill("#location", "Lyon")
        page.fill("#website", "https://alice.example.com")
        page.click("form button.primary")
        page.wait_for_selector(".flash-success")
        page.goto(f"{base}/settings/tokens")
        page.fill("#name", "Invoice export script")
        page.click("form.token-form button.primary")
        page.wait_for_selector(".token-value")
        for path, name in (("/settings", "settings-profile"), ("/settings/password", "settings-password"),
                           ("/settings/tokens", "settings-tokens")):
            page.goto(base + path)
            for width in WIDTHS:
                shoot(page, name, width)
            assert axe_violations(page) == [], path
        page.goto(f"{base}/users/alice")
        assert page.locator("a.website").get_attribute("rel") == "nofollow ugc"
        assert page.problems == []


def test_sign_out_everywhere_else_from_the_password_page(tmp_path):
    with demo_site(tmp_path) as (app, base), chromium() as browser:
        phone = new_page(browser, width=390)
        login(phone, base, "alice", "alice-demo-pass")
        laptop = new_page(browser)
        login(laptop, base, "alice", "alice-demo-pass")
        laptop.goto(f"{base}/settings/password")
        laptop.click("text=Sign out everywhere else")
        laptop.wait_for_selector(".flash-success")
        assert "Every other browser and device is signed out" in laptop.inner_text(".flash-success")
        for width in WIDTHS:
            shoot(laptop, "settings-password-signed-out-elsewhere", width)
        laptop.goto(f"{base}/settings/password")
        assert "/login" not in laptop.url                       # this browser stays signed in
        phone.goto(f"{base}/settings/password")
        assert "/login" in phone.url                             # the other one was signed out
        assert laptop.problems == [] and phone.problems == []


def test_the_password_reset_journey_reads_the_link_from_the_mail(tmp_path):
    smtp = SmtpServer()
    smtp.start()
    try:
        with demo_site(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port) as (app, base), \
                chromium() as browser:
            old = new_page(browser)
            login(old, base, "alice", "alice-demo-pass")        # a session that must end
            page = new_page(browser, width=390)
            page.goto(f"{base}/login")
            page.click("text=Forgot your password?")
            page.fill("#email", "alice@example.com")
            page.click("form button.primary")
            assert "Check your email" in page.text_content("h1")
            with app.app_context():
                assert outbox.send_due()["sent"] >= 1      # the demo's own reply mails go out too
            [reset_mail] = [m for m in smtp.inbox.messages if m["Subject"].startswith("Reset your")]
            assert reset_mail["To"] == "alice@example.com"
            text = reset_mail.get_body(("plain",)).get_content()
            link = re.search(r"http://\S+/reset/[\w-]+", text).group(0)
            page.goto(base + link[link.index("/reset/"):])
            page.fill("#password", "blue kettle on a tuesday")
            page.fill("#confirm", "blue kettle on a tuesday")
            page.click("form button.primary")
            page.wait_for_url(f"{base}/")
            assert "alice" in page.text_content(".user-menu")
            old.goto(f"{base}/settings")
            assert "/login" in old.url                            # the other session was signed out
            page.goto(base + link[link.index("/reset/"):])
            assert "not valid" in page.text_content(".flash-error")   # the link worked once
            assert page.problems == [] and old.problems == []
    finally:
        smtp.stop()
