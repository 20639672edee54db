"""Browser test: an agent links a ticket and a thread to an idea from the pages that suggest it,
each viewer sees what they may of the links, the product team sorts by demand and closes the loop.

Headless Chromium against the app served from a thread (CSRF on); screenshots at 1280 and 390 px
under test-artifacts/ (ideas-links-*.png); no page scrolls sideways on the phone.
"""
from __future__ import annotations

import pytest

from tests.browser import WIDTHS, chromium, live_site, login, logout, needs_chromium, shoot_widths

pytestmark = needs_chromium

RESPONSE = "CSV export shipped today: every report has an Export button."


@pytest.fixture()
def live_app(tmp_path):
    with live_site(tmp_path, _seed) as (_, base, ids):
        yield base, ids


def _seed():
    from community.services.accounts import users
    from community.services.forum import threads
    from community.services.ideas import exchange
    from community.services.tickets import workflow

    carol = users.create_user("carol", "carol@example.com", "carol-pass-123")
    dave = users.create_user("dave", "dave@example.com", "dave-pass-123")
    users.create_user("alex", "alex@example.com", "alex-pass-123", role="agent")
    users.create_user("petra", "petra@example.com", "petra-pass-123", role="product")
    reports = threads.create_category("Reports", "Dashboards and exports.")
    idea = exchange.create_idea(dave, reports, "Export reports to CSV",
                                "A CSV button on every report, for spreadsheets.", ["export"])
    quiet = exchange.create_idea(dave, reports, "Dark mode for dashboards", "Easier on the eyes at night.")
    for n in range(2):             # 3 votes and 3 customers: demand 3, below the linked idea's 4
        exchange.set_vote(users.create_user(f"fan{n}", f"fan{n}@example.com", "fan-pass-1234"), quiet, 1)
    thread = threads.create_thread(carol, reports, "How do I export a report to CSV for Excel?",
                                   "I need the monthly report in a spreadsheet.")
    mine = workflow.open_ticket(source="contact", subject="CSV export of the monthly report",
                                body="Can you send it as CSV?", requester=carol)
    secret = workflow.open_ticket(source="contact", subject="ACME Corp: reports to CSV for our auditors",
                                  body="Confidential.", requester=dave)
    return {"idea": idea.id, "slug": idea.slug, "thread": thread.id, "thread_slug": thread.slug,
            "mine": mine.id, "secret": secret.id, "quiet": quiet.id}


def _shoot(page, name):
    """Screenshots at both widths; no page scrolls sideways."""
    shoot_widths(page, f"ideas-links-{name}", "ideas")


def test_agent_links_viewers_see_what_they_may_product_closes_the_loop(live_app):
    base, ids = live_app
    idea_page = f"{base}/ideas/{ids['idea']}/{ids['slug']}"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # The agent's ticket page suggests the idea from the subject: one click links it.
        login(page, base, "alex", "alex-pass-123")
        page.goto(f"{base}/tickets/{ids['mine']}")
        suggested = page.locator(".suggested-ideas li", has_text="Export reports to CSV")
        _shoot(page, "ticket-suggests")
        suggested.locator("button", has_text="Link").click()
        page.wait_for_load_state()
        assert "Ticket linked to idea" in page.inner_text("body")
        assert "linked" in page.inner_text(".ticket-ideas")

        # The secret ticket is linked from the idea page's form; the thread from its own page.
        page.goto(idea_page)
        page.select_option("#link-kind", "ticket")
        page.fill("#link-target", f"#{ids['secret']}")
        page.click(".link-form button")
        page.wait_for_load_state()
        page.goto(f"{base}/threads/{ids['thread']}/{ids['thread_slug']}")
        page.click(".idea-link-box summary")
        assert "Export reports to CSV" in page.inner_text(".idea-link-box")      # suggested from the title
        page.fill(f"#thread-idea-{ids['thread']}", f"#{ids['idea']}")
        page.click(".idea-link-form button:has-text('Link')")
        page.wait_for_load_state()
        assert "Feature request:" in page.inner_text(".thread-ideas")
        _shoot(page, "thread-linked")

        page.goto(idea_page)
        links = page.inner_text("#links")
        assert "How do I export a report to CSV" in links and "ACME Corp" in links
        figures = {k: page.inner_text(f"[data-demand={k}]") for k in ("customers", "threads", "tickets",
                                                                        "contacts_90d", "demand")}
        assert figures == {"customers": "2", "threads": "1", "tickets": "2", "contacts_90d": "2", "demand": "4"}
        _shoot(page, "idea-staff")
        logout(page)

        # Carol sees the thread and her own ticket, not dave's; the figures are the same.
        login(page, base, "carol", "carol-pass-123")
        page.goto(idea_page)
        links = page.inner_text("#links")
        assert "CSV export of the monthly report" in links and "your ticket" in links
        assert "ACME" not in page.content()
        assert "1 more linked conversation you cannot see" in links
        assert page.locator("#link-target").count() == 0 and page.locator(".link-remove").count() == 0
        _shoot(page, "idea-customer")
        logout(page)

        # The product team: demand ranks the linked idea above the one with more votes.
        login(page, base, "petra", "petra-pass-123")
        page.goto(f"{base}/ideas/product?sort=demand")
        rows = page.locator(".product-table tbody tr")
        assert "Export reports to CSV" in rows.nth(0).inner_text()
        assert "Dark mode for dashboards" in rows.nth(1).inner_text()
        _shoot(page, "product-demand")
        page.goto(idea_page)
        page.select_option("#status", "delivered")
        page.fill("#response", RESPONSE)
        page.click("#status-form button.primary")
        page.wait_for_selector("#response")
        page.goto(f"{base}/threads/{ids['thread']}/{ids['thread_slug']}")
        assert RESPONSE in page.inner_text("main")
        _shoot(page, "thread-official-response")
        logout(page)

        login(page, base, "carol", "carol-pass-123")
        page.goto(f"{base}/notifications")
        assert "is now delivered" in page.inner_text("main")
        assert not errors, errors
