"""Published articles are found by suggestions and the search page, marked official; drafts never are."""
from __future__ import annotations


def _article(client, token, category, title, body, state="published"):
    response = client.post("/api/v1/articles", headers=token, json={
        "category_id": category.id, "title": title, "body": body, "state": state})
    assert response.status_code == 201
    return response.json


def test_published_articles_are_suggested_and_searchable_drafts_are_not(client, make, token_for, login):
    agent = token_for(make.user("agent", role="agent"))
    category = make.category("Billing")
    make.thread(title="Refund for a double charge on my card",
                body="My card was charged twice for the same invoice this month.")
    published = _article(client, agent, category, "I was charged twice: how refunds work",
                         "A double charge is refunded automatically within five days; contact billing otherwise.")
    _article(client, agent, category, "Draft: charged twice internal notes",
             "Internal notes about charged twice refunds, not ready.", state="draft")
    found = client.get("/api/v1/suggest?q=charged twice refund").json["results"]
    assert {r["type"] for r in found} == {"thread", "article"}
    article_hits = [r for r in found if r["type"] == "article"]
    assert [(r["id"], r["title"]) for r in article_hits] == [(published["id"], published["title"])]
    assert client.get("/api/v1/suggest?q=charged twice refund&type=idea").json["results"] == []
    assert [r["type"] for r in client.get("/api/v1/suggest?q=charged twice&type=article").json["results"]] == ["article"]
    page = client.get("/search?q=charged+twice&type=article").get_data(as_text=True)
    assert "/kb/" + str(published["id"]) + "-i-was-charged-twice-how-refunds-work" in page and "Official article" in page
    assert "Draft: charged twice" not in page

    # Archiving takes it out of search at once; publishing again brings it back.
    client.patch(f"/api/v1/articles/{published['id']}", headers=agent, json={"state": "archived"})
    assert [r for r in client.get("/api/v1/suggest?q=charged twice refund").json["results"]
            if r["type"] == "article"] == []


def test_opening_an_article_suggestion_goes_to_the_published_article(client, make, token_for, db):
    agent = token_for(make.user("agent", role="agent"))
    category = make.category("Billing")
    published = _article(client, agent, category, "Download every invoice as a PDF",
                         "Billing, then Invoices, then Download all as PDF.")
    draft = _article(client, agent, category, "Unpublished invoice article draft",
                     "Not ready for readers yet at all.", state="draft")
    opened = client.get(f"/ask/open/nosession/article/{published['id']}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/kb/{published['id']}-download-every-invoice-as-a-pdf")
    assert client.get(f"/ask/open/nosession/article/{draft['id']}").status_code == 404
