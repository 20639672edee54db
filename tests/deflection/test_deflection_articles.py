"""Knowledge-base articles deflect like threads: opened from a suggestion, confirmed, failed, per content type."""
from __future__ import annotations

import re

from sqlalchemy import select

from community.extensions import db
from community.models import AskEvent, DeflectionCredit
from community.services.kb import articles
from tests.deflection.conftest import minutes


def make_article(site, state="published", title="Export every invoice as a PDF file"):
    agent = site.user(role="agent")
    article = articles.create_article(agent, site.category(), title,
                                      "Open Billing, choose the invoices and press Export PDF.", state=state)
    db.session.commit()
    return article


def opened_article(site, visitor, article, at):
    site.at(minutes(at))
    sid = visitor.open_page("/ask")
    results = visitor.suggest(sid, "export invoice pdf", types="thread,article,idea")["results"]
    assert ("article", article.id) in [(r["type"], r["id"]) for r in results]
    site.at(minutes(at + 1))
    response = visitor.open(sid, article.id, kind="article")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/kb/{article.id}-{article.slug}?from_suggestion={sid}")
    return sid, response.headers["Location"]


def test_an_article_opened_from_a_suggestion_shows_the_prompt_and_counts_as_a_deflection(site):
    article = make_article(site)
    visitor = site.visitor()
    sid, url = opened_article(site, visitor, article, 0)
    page = visitor.get(url).get_data(as_text=True)
    assert "This solved my problem" in page
    assert f'name="article_id" value="{article.id}"' in page
    site.at(minutes(3))
    answer = visitor.post("/ask/confirm", {"session": sid, "article_id": article.id}, Accept="application/json")
    assert answer.status_code == 200 and answer.get_json()["counted"] is True
    again = visitor.post("/ask/confirm", {"session": sid, "article_id": article.id}, Accept="application/json")
    assert again.get_json()["counted"] is False

    failing = site.visitor()
    sid2, _ = opened_article(site, failing, article, 10)
    site.at(minutes(12))
    assert failing.post("/ask/confirm", {"session": sid2, "article_id": article.id},
                        Accept="application/json").status_code == 200
    site.at(minutes(80))                                 # a session of its own, then support
    contact = failing.open_page("/support/contact")
    site.at(minutes(81))
    assert failing.contact(contact).status_code == 302

    r = site.report(now=minutes(24 * 60))
    assert r["confirmed_deflections"] == 2 and (r["held_deflections"], r["failed_deflections"]) == (1, 1)
    assert r["by_content_type"] == {"thread": {"confirmed": 0, "inferred": 0, "held": 0, "failed": 0},
                                    "article": {"confirmed": 2, "inferred": 0, "held": 1, "failed": 1}}
    assert [(a["article_id"], a["confirmed"], a["failed"]) for a in r["top_articles"]] == [(article.id, 2, 1)]
    assert [a["article_id"] for a in r["failing_articles"]] == [article.id]
    assert r["top_threads"] == []
    # An official article credits no member: no credit row, no bonus.
    assert db.session.execute(select(DeflectionCredit)).first() is None


def test_an_article_not_opened_from_the_session_cannot_be_confirmed(site):
    article = make_article(site)
    visitor = site.visitor()
    site.at(minutes(0))
    sid = visitor.open_page("/ask")
    visitor.suggest(sid, "export invoice pdf", types="thread,article,idea")
    refused = visitor.post("/ask/confirm", {"session": sid, "article_id": article.id}, Accept="application/json")
    assert refused.status_code == 404
    plain = visitor.get(f"/kb/{article.id}-{article.slug}?from_suggestion={sid}").get_data(as_text=True)
    assert "This solved my problem" not in plain
    assert site.report(now=minutes(60))["confirmed_deflections"] == 0


def test_a_draft_article_cannot_be_opened_or_confirmed(site):
    draft = make_article(site, state="draft", title="Export invoices to PDF (draft)")
    visitor = site.visitor()
    site.at(minutes(0))
    sid = visitor.open_page("/ask")
    assert visitor.open(sid, draft.id, kind="article").status_code == 404
    assert visitor.post("/ask/confirm", {"session": sid, "article_id": draft.id},
                        Accept="application/json").status_code == 404
    assert db.session.execute(select(AskEvent).where(AskEvent.article_id == draft.id)).first() is None


def test_an_article_opened_and_left_is_an_inferred_deflection_crediting_it(site):
    article = make_article(site)
    visitor = site.visitor()
    opened_article(site, visitor, article, 0)
    r = site.report(now=minutes(120))
    assert (r["inferred_deflections"], r["by_content_type"]["article"]["inferred"]) == (1, 1)
    assert re.fullmatch(rf"/kb/{article.id}-[\w-]+", r["top_articles"][0]["url"])


def test_an_article_whose_readers_from_search_still_contact_support_is_listed_for_review(site):
    article = make_article(site)
    site.app.config.update(KB_REVIEW_MIN_VOTES=5, KB_REVIEW_CONTACT_ABOVE=0.5)
    for n in range(5):
        visitor = site.visitor()
        sid, _ = opened_article(site, visitor, article, n * 10)
        if n < 3:                                          # three of the five write to support
            site.at(minutes(n * 10 + 2))
            assert visitor.contact(sid).status_code == 302
    site.at(minutes(100))
    agent = site.visitor()
    agent.login(site.user(role="agent"))
    page = agent.get("/kb/review").get_data(as_text=True)
    assert article.title in page and "3 of 5 readers from search then contacted support" in page

    site.app.config["KB_REVIEW_CONTACT_ABOVE"] = 0.7       # 3 of 5 is under 70 %
    assert article.title not in agent.get("/kb/review").get_data(as_text=True)


def test_a_contact_made_before_the_article_was_opened_does_not_count_against_it(site):
    article = make_article(site)
    site.app.config.update(KB_REVIEW_MIN_VOTES=1, KB_REVIEW_CONTACT_ABOVE=0.5)
    category = site.category()
    visitor = site.visitor()
    visitor.login(site.user())
    site.at(minutes(0))
    sid = visitor.open_page("/ask")
    assert visitor.post_question(sid, category).status_code == 302        # the contact comes first
    site.at(minutes(5))
    again = visitor.open_page("/ask")                                      # the same session, within 30 minutes
    assert again == sid
    visitor.suggest(sid, "export invoice pdf", types="thread,article,idea")
    assert visitor.open(sid, article.id, kind="article").status_code == 302
    agent = site.visitor()
    agent.login(site.user(role="agent"))
    assert article.title not in agent.get("/kb/review").get_data(as_text=True)
