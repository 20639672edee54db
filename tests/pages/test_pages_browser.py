"""What a member sees on every page, in Chromium at desktop and phone widths (screenshots in test-artifacts/pages)."""
from __future__ import annotations

from tests.browser import WIDTHS, axe_violations, chromium, demo_site, login, needs_chromium, new_page, shoot

pytestmark = needs_chromium


def test_questions_page_filters_paginates_and_fits_a_phone(tmp_path):
    from playwright.sync_api import expect

    with demo_site(tmp_path, PAGE_SIZE=5) as (app, base), chromium() as browser:
        page = new_page(browser)
        page.goto(base + "/")
        page.click("text=All questions ›")
        page.wait_for_url(base + "/questions")
        expect(page.locator(".nav-links a.current")).to_have_text("Questions")
        assert page.locator(".thread-row").count() == 5
        page.click(".tabs a:has-text('Unsolved')")
        page.wait_for_url("**/questions?status=unsolved")
        assert page.locator(".pill-solved").count() == 0
        page.select_option("#f-sort", "votes")
        page.click(".filter-bar button")
        page.wait_for_url("**sort=votes**")
        scores = [int(s) for s in page.locator(".thread-row .count strong").all_inner_texts()[::2]]
        assert scores == sorted(scores, reverse=True)
        page.click(".pagination a[rel=next]")
        page.wait_for_url("**page=2**")
        for width in WIDTHS:
            shoot(page, "questions", width)
        page.goto(base + "/questions?page=999")
        page.click("text=Go to the last page")
        assert page.locator(".thread-row").count() >= 1
        assert page.problems == []


def test_phone_header_is_one_line_with_a_menu_button(tmp_path):
    with demo_site(tmp_path) as (app, base), chromium() as browser:
        page = new_page(browser, width=390)
        login(page, base, "mod", "mod-demo-pass")
        page.goto(base + "/questions")
        header = page.locator(".site-header").bounding_box()
        assert header["height"] < 70, f"phone header is {header['height']}px tall"
        assert not page.locator("#site-menu").is_visible()
        shoot(page, "phone-header-closed", 390)
        page.click(".menu-toggle")
        assert page.locator("#site-menu").is_visible()
        assert page.get_attribute(".menu-toggle", "aria-expanded") == "true"
        page.click(".staff-menu summary")
        assert page.locator(".staff-menu a:has-text('Moderation queue')").is_visible()
        shoot(page, "phone-header-open", 390)
        page.set_viewport_size({"width": 1280, "height": 900})
        header = page.locator(".site-header").bounding_box()
        assert header["height"] < 70, f"desktop staff header wraps ({header['height']}px)"
        assert page.problems == []


#: The header's visible controls (links, menu summaries, buttons), with the boxes that overlap.
_OVERLAPPING_HEADER_CONTROLS = """() => {
  const shown = [...document.querySelectorAll('.nav a, .nav summary, .nav button')]
    .filter(e => e.offsetParent && !e.closest('.dropdown-list'));
  const out = [];
  for (let i = 0; i < shown.length; i++) for (let j = i + 1; j < shown.length; j++) {
    const a = shown[i].getBoundingClientRect(), b = shown[j].getBoundingClientRect();
    if (a.width && b.width && a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
      out.push(shown[i].textContent.trim() + ' / ' + shown[j].textContent.trim());
  }
  return out;
}"""


def test_a_staff_header_never_overlaps_at_any_width(tmp_path):
    """An agent has seven links, the bell with its unread count and a name with reputation: at
    1024-1280px they ran under the "Ask a question" button, and at 768-900px the page scrolled
    sideways, for every visitor (the menu button came only under 760px)."""
    with demo_site(tmp_path) as (app, base), chromium() as browser:
        for username in ("agent", None):
            page = new_page(browser)
            if username:
                login(page, base, username, f"{username}-demo-pass")
            page.goto(base + "/questions")
            for width in (1600, 1440, 1301, 1280, 1200, 1141, 1140, 1024, 900, 768, 390):
                page.set_viewport_size({"width": width, "height": 900})
                overlapping = page.evaluate(_OVERLAPPING_HEADER_CONTROLS)
                assert overlapping == [], f"{username or 'anonymous'} at {width}px: {overlapping}"
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{username or 'anonymous'} at {width}px scrolls sideways by {overflow}px"
                if width > 1140:  # above the menu button's width: one line
                    height = page.locator(".site-header").bounding_box()["height"]
                    assert height < 60, f"{username or 'anonymous'} at {width}px: the header is {height}px tall"
            shoot(page, f"header-{username or 'anonymous'}", 1280)
            assert page.problems == []


def test_error_pages_are_styled_with_a_way_back(tmp_path):
    with demo_site(tmp_path) as (app, base), chromium() as browser:
        page = new_page(browser)
        login(page, base, "alice", "alice-demo-pass")
        page.goto(base + "/questions")
        response = page.goto(base + "/moderation", referer=base + "/questions")
        assert response.status == 403
        assert "This page is for moderators" in page.inner_text(".error-page")
        for width in WIDTHS:
            shoot(page, "error-403", width)
        page.click("text=Back to the previous page")
        page.wait_for_url(base + "/questions")
        response = page.goto(base + "/ideas/99999")
        assert response.status == 404 and "No such idea" in page.inner_text(".error-page")
        shoot(page, "error-404", 390)
        assert axe_violations(page) == []


def test_locked_downvote_and_flag_are_explained_in_the_page(tmp_path):
    from playwright.sync_api import expect

    with demo_site(tmp_path) as (app, base), chromium() as browser:
        page = new_page(browser, width=390)
        page.goto(base + "/register")
        page.fill("#username", "newcomer")
        page.fill("#email", "newcomer@example.com")
        page.fill("#password", "correct-horse-battery")
        page.fill("#password2", "correct-horse-battery")
        page.click("form button.primary")
        page.wait_for_url(base + "/")
        page.goto(base + "/questions")
        page.click(".thread-row h3 a >> nth=0")
        page.wait_for_selector("article.post-question")
        question = page.locator("article.post-question")
        question.locator("button.vote.down").click()
        expect(question.locator(".action-message")).to_have_text("Downvoting unlocks at 125 reputation.")
        assert question.locator(".locked-action button[disabled]").inner_text() == "Flag"
        assert "unlocks at 15 reputation" in question.locator(".locked-action").inner_text()
        shoot(page, "locked-actions", 390)
        assert page.problems == []  # no alert() pop-up, no CSP refusal


def test_customer_reads_and_answers_their_ticket(tmp_path):
    """Alice writes to support, an agent asks for details (pending), Alice answers from My tickets."""
    from community.extensions import db
    from community.models import Ticket, User
    from community.services.tickets import workflow

    with demo_site(tmp_path) as (app, base), chromium() as browser:
        page = new_page(browser)
        login(page, base, "alice", "alice-demo-pass")
        page.goto(base + "/support/contact")
        page.fill("#subject", "Invoice shows the wrong VAT number")
        page.fill("#body", "My March invoice shows VAT number 123 but ours is 456.")
        page.click("#contact-form button.primary")
        page.wait_for_url("**/support/contact/sent**")
        with app.app_context():
            ticket = db.session.query(Ticket).order_by(Ticket.id.desc()).first()
            agent = db.session.query(User).filter_by(username="agent").one()
            workflow.add_public_reply(agent, ticket, "Which invoice number is it, please?")
            workflow.update(agent, ticket, status="pending", assignee="agent")
            db.session.commit()
            ticket_id = ticket.id
        page.click(".user-menu summary")
        page.click(".user-menu a:has-text('My tickets')")
        page.click(f"a[href='/my/tickets/{ticket_id}']")
        assert "VAT number 123" in page.inner_text(".my-request")
        assert "Which invoice number is it" in page.inner_text(".timeline")
        page.fill("#reply-body", "It is invoice INV-2031.")
        page.click(".ticket-reply-form button.primary")
        page.wait_for_selector("text=Your reply is sent")
        assert "It is invoice INV-2031." in page.inner_text(".timeline")
        assert page.inner_text(".ticket-status").strip() == "Open"
        for width in WIDTHS:
            shoot(page, "my-ticket", width)
        assert axe_violations(page) == []
        assert page.problems == []


def test_main_pages_have_no_serious_accessibility_violations(tmp_path):
    """axe-core on the pages most people see, logged in, at desktop and phone widths."""
    with demo_site(tmp_path) as (app, base), chromium() as browser:
        page = new_page(browser)
        login(page, base, "alice", "alice-demo-pass")
        page.goto(base + "/questions")
        thread_path = page.get_attribute(".thread-row h3 a >> nth=0", "href")
        found = {}
        for path in ("/", "/questions", thread_path, "/ask", "/ideas", "/users", "/users/alice",
                     "/my/tickets", "/support/contact", "/search?q=sync", "/ideas/99999"):
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(base + path)
                violations = axe_violations(page)
                if violations:
                    found[f"{path} @ {width}"] = violations
        assert found == {}
