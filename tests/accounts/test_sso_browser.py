"""Single sign-on in headless Chromium: the login page's button, the provider's own sign-in page
(tests/accounts/oidc_provider.py, interactive), back to the site signed in; and joining the
company sign-in to an existing account with its password."""
from __future__ import annotations

from tests.browser import axe_violations, chromium, demo_site, needs_chromium, new_page

from .oidc_provider import PAGE_PASSWORD, Provider

pytestmark = needs_chromium


def _through_provider(page, base, provider):
    page.goto(f"{base}/login?next=/questions")
    page.click("text=Sign in with Corp")
    page.wait_for_url(f"{provider.issuer}/authorize*")
    assert page.text_content("h1") == "Corp sign-in"
    page.fill("#password", PAGE_PASSWORD)
    page.click("button[value=allow]")


def test_sign_in_through_the_providers_page_and_join_an_existing_account(tmp_path):
    provider = Provider()
    provider.interactive = True
    provider.start()
    try:
        with demo_site(tmp_path, OIDC_ISSUER=provider.issuer, OIDC_CLIENT_ID=provider.client_id,
                       OIDC_CLIENT_SECRET=provider.client_secret, OIDC_BUTTON_LABEL="Sign in with Corp") \
                as (app, base), chromium() as browser:
            page = new_page(browser)
            _through_provider(page, base, provider)
            page.wait_for_url(f"{base}/questions")
            assert "pat" in page.text_content(".user-menu summary")
            page.click(".user-menu summary")
            page.click(".user-menu form[action='/logout'] button")
            page.wait_for_url(f"{base}/")                        # back from the provider's logout
            assert provider.logouts, "RP-initiated logout reached the provider"

            provider.person.update(sub="emp-alice", email="alice@example.com", preferred_username="alice.corp")
            joiner = new_page(browser, width=390)
            _through_provider(joiner, base, provider)
            joiner.wait_for_url(f"{base}/login/sso/link")
            assert "a••••@example.com" in joiner.text_content("main")
            assert axe_violations(joiner) == []
            joiner.fill("#password", "alice-demo-pass")
            joiner.click("text=Join with my password")
            joiner.wait_for_url(f"{base}/questions")
            assert "alice" in joiner.text_content(".user-menu summary")
            assert page.problems == [] and joiner.problems == []
    finally:
        provider.stop()


def test_logout_reaches_an_end_session_page_on_another_origin_than_the_issuer(tmp_path):
    """The CSP's form-action names the issuer's origin; a provider whose end-session page lives
    elsewhere (here the same server as ``localhost``, another origin than ``127.0.0.1``) must
    still be reached from the logout button, with no CSP violation on the way."""
    provider = Provider()
    provider.interactive = True
    provider.logout_base = f"http://localhost:{provider.port}"
    provider.start()
    try:
        with demo_site(tmp_path, OIDC_ISSUER=provider.issuer, OIDC_CLIENT_ID=provider.client_id,
                       OIDC_CLIENT_SECRET=provider.client_secret, OIDC_BUTTON_LABEL="Sign in with Corp") \
                as (app, base), chromium() as browser:
            page = new_page(browser)
            _through_provider(page, base, provider)
            page.wait_for_url(f"{base}/questions")
            page.click(".user-menu summary")
            page.click(".user-menu form[action='/logout'] button")
            page.wait_for_url(f"{base}/")                        # through localhost's end-session page
            assert len(provider.logouts) == 1, "RP-initiated logout reached the provider"
            assert page.query_selector(".user-menu") is None              # logged out here
            assert page.problems == []
    finally:
        provider.stop()
