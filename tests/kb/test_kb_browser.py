"""Headless Chromium: a customer types a question, is offered an official article, opens it and
confirms "This solved my problem"; the deflection is counted for the article, by content type.

On the demo site, with CSRF and the CSP on, at desktop and phone widths (screenshots in
test-artifacts/pages/).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser import WIDTHS, chromium, demo_site, login, needs_chromium, new_page, shoot

pytestmark = needs_chromium

TITLE = "Why was I charged twice, and how do refunds work?"


def _report(app):
    from community.models import utcnow
    from community.services.deflection import metrics

    with app.app_context():
        today = utcnow().date()
        return metrics.deflection_report(today, today)


def _article_id(app) -> int:
    from community.extensions import db
    from community.models import Article

    with app.app_context():
        return db.session.execute(select(Article.id).where(Article.title == TITLE)).scalar_one()


@pytest.mark.parametrize("width", WIDTHS)
def test_type_a_question_open_the_official_article_and_confirm(tmp_path, width):
    with demo_site(tmp_path, DEFLECTION_HOLDOUT=0) as (app, base), chromium() as browser:
        article_id = _article_id(app)
        before = _report(app)   # the demo site's simulated sessions of today
        page = new_page(browser, width)
        page.goto(f"{base}/ask")
        assert page.locator("form#ask-form").get_attribute("data-arm") == "suggestions"
        page.locator("#title").press_sequentially("I was charged twice this month", delay=20)
        official = page.locator(".suggest-item", has=page.locator(".pill-official")).first
        official.wait_for(state="visible", timeout=10000)
        assert TITLE in official.inner_text()
        shoot(page, "kb-ask-suggests-article", width)

        official.locator("a").first.click()
        page.wait_for_url(f"**/kb/{article_id}-*")
        yes = page.locator('[data-deflect="yes"]')
        yes.wait_for(state="visible", timeout=10000)
        assert page.locator("h1").inner_text().startswith(TITLE)
        shoot(page, "kb-article-prompt", width)
        yes.click()
        page.get_by_text("Glad this solved it").wait_for(timeout=10000)
        assert page.problems == []

        after = _report(app)
        assert after["confirmed_deflections"] == before["confirmed_deflections"] + 1
        kinds_before, kinds_after = before["by_content_type"], after["by_content_type"]
        assert kinds_after["article"]["confirmed"] == kinds_before["article"]["confirmed"] + 1
        assert kinds_after["thread"] == kinds_before["thread"]
        top = {row["article_id"]: row["confirmed"] for row in after["top_articles"]}
        was = {row["article_id"]: row["confirmed"] for row in before["top_articles"]}
        assert top[article_id] == was.get(article_id, 0) + 1

        # The support manager sees it on /analytics.
        agent = new_page(browser, width)
        login(agent, base, "agent", "agent-demo-pass")
        agent.goto(f"{base}/analytics")
        assert agent.get_by_role("link", name=TITLE).first.is_visible()
        shoot(agent, "kb-analytics-top-articles", width)
