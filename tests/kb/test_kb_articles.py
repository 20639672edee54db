"""Knowledge base: writing, states and who sees them, revisions, promotion with credit, feedback."""
from __future__ import annotations

import re

import pytest

from community.models import Article, ArticleRevision, ReputationEvent
from community.services.forum import accepting


@pytest.fixture()
def staff(make):
    return {"agent": make.user("agent", role="agent"), "product": make.user("pmgr", role="product"),
            "admin": make.user("root", role="admin"), "moderator": make.user("modr", role="moderator"),
            "member": make.user("alice")}


def _write(client, token, **extra):
    body = {"category_id": extra.pop("category_id"), "title": "Reset two-factor authentication",
            "body": "Open **Settings → Security** and choose *Reset 2FA*.", "tags": ["security"]}
    body.update(extra)
    return client.post("/api/v1/articles", json=body, headers=token)


def test_only_writers_create_articles_and_members_never_see_drafts(client, make, staff, token_for, db):
    category = make.category("Accounts")
    for role in ("member", "moderator"):
        assert _write(client, token_for(staff[role]), category_id=category.id).status_code == 403
    assert client.post("/api/v1/articles", json={}).status_code == 401
    draft = _write(client, token_for(staff["agent"]), category_id=category.id)
    assert draft.status_code == 201 and draft.json["state"] == "draft"
    published = _write(client, token_for(staff["product"]), category_id=category.id,
                       title="Change the email address of my account", state="published")
    assert published.status_code == 201

    member = token_for(staff["member"])
    listed = client.get("/api/v1/articles", headers=member).json
    assert [a["title"] for a in listed["articles"]] == ["Change the email address of my account"]
    assert listed["total"] == 1 and "helpful_yes" not in listed["articles"][0]
    assert client.get("/api/v1/articles?state=draft", headers=member).json["articles"] == []
    assert client.get(f"/api/v1/articles/{draft.json['id']}", headers=member).status_code == 404
    assert client.get(f"/api/v1/articles/{draft.json['id']}").status_code == 404
    assert client.get(f"/kb/{draft.json['id']}").status_code == 404
    assert "Reset two-factor" not in client.get("/kb").get_data(as_text=True)

    moderator = token_for(staff["moderator"])
    assert client.get("/api/v1/articles", headers=moderator).json["total"] == 2
    assert client.get(f"/api/v1/articles/{draft.json['id']}", headers=moderator).json["helpful_yes"] == 0


def test_article_page_url_renders_sanitized_html_once(client, make, staff, token_for, db):
    category = make.category("Accounts")
    created = _write(client, token_for(staff["agent"]), category_id=category.id, state="published",
                     body="Click <script>alert(1)</script> [here](javascript:alert(2)) then **Save**.")
    article = db.session.get(Article, created.json["id"])
    assert "<script>" not in article.body_html and "javascript:" not in article.body_html
    assert "<strong>Save</strong>" in article.body_html
    assert client.get(f"/kb/{article.id}").headers["Location"].endswith(f"/kb/{article.id}-{article.slug}")
    page = client.get(f"/kb/{article.id}-{article.slug}").get_data(as_text=True)
    assert "Reset two-factor authentication" in page and "Was this helpful?" in page and "Updated" in page
    assert created.json["url"].endswith(f"/kb/{article.id}-reset-two-factor-authentication")


def test_edits_keep_revisions_with_author_and_reason(client, make, staff, token_for, db):
    category = make.category("Accounts")
    agent = token_for(staff["agent"])
    article_id = _write(client, agent, category_id=category.id).json["id"]
    missing_reason = client.patch(f"/api/v1/articles/{article_id}", json={"body": "A much better explanation."},
                                  headers=agent)
    assert missing_reason.status_code == 400 and missing_reason.json["error"]["field"] == "reason"
    ok = client.patch(f"/api/v1/articles/{article_id}", headers=token_for(staff["admin"]),
                      json={"body": "A much better explanation.", "reason": "Clearer steps", "state": "published"})
    assert ok.status_code == 200 and ok.json["state"] == "published"
    revisions = db.session.query(ArticleRevision).filter_by(article_id=article_id).order_by(ArticleRevision.id).all()
    assert [(r.editor.username, r.reason) for r in revisions] == [("agent", "Created"), ("root", "Clearer steps")]
    assert client.patch(f"/api/v1/articles/{article_id}", json={"state": "archived"},
                        headers=token_for(staff["member"])).status_code == 403
    assert client.patch(f"/api/v1/articles/{article_id}", json={"state": "gone"}, headers=agent).status_code == 400
    assert client.patch(f"/api/v1/articles/{article_id}", json={"state": "archived"}, headers=agent).status_code == 200
    assert client.get(f"/api/v1/articles/{article_id}", headers=token_for(staff["member"])).status_code == 404


def _solved_thread(make):
    asker, answerer = make.user("asker"), make.user("helper")
    thread = make.thread(author=asker, title="How do I export my invoices as PDF?")
    answer = make.reply(thread, author=answerer, body="Billing → Invoices → Export, then choose PDF.")
    accepting.accept(asker, thread, answer)
    make.db.session.commit()
    return thread, answer, answerer


def test_promoting_a_solved_thread_credits_the_answerer_once(client, make, staff, token_for, db):
    thread, answer, answerer = _solved_thread(make)
    before = db.session.get(type(answerer), answerer.id).reputation
    agent = token_for(staff["agent"])
    assert client.post(f"/api/v1/threads/{thread.id}/promote", json={}, headers=token_for(staff["member"])).status_code == 403
    promoted = client.post(f"/api/v1/threads/{thread.id}/promote", json={"state": "published"}, headers=agent)
    assert promoted.status_code == 201
    assert "Billing → Invoices → Export" in promoted.json["body"] and promoted.json["source_thread_id"] == thread.id
    again = client.post(f"/api/v1/threads/{thread.id}/promote", json={}, headers=agent)
    assert again.status_code == 409
    db.session.expire_all()
    assert db.session.get(type(answerer), answerer.id).reputation == before + 10
    credit = db.session.query(ReputationEvent).filter_by(reason="answer_promoted").all()
    assert [(c.user_id, c.points, c.post_id, c.source) for c in credit] == [
        (answerer.id, 10, answer.id, f"article:{promoted.json['id']}")]
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "This thread is now an official article" in page
    article_page = client.get(f"/kb/{promoted.json['id']}-{db.session.get(Article, promoted.json['id']).slug}")
    assert "answered by" in article_page.get_data(as_text=True) and "helper" in article_page.get_data(as_text=True)


def test_unsolved_threads_cannot_be_promoted(client, make, staff, token_for):
    thread = make.thread()
    refused = client.post(f"/api/v1/threads/{thread.id}/promote", json={}, headers=token_for(staff["agent"]))
    assert refused.status_code == 400 and "solved" in refused.json["error"]["message"]
    assert client.post("/api/v1/threads/99999/promote", json={}, headers=token_for(staff["agent"])).status_code == 404


def test_promotion_page_prefills_question_and_answer(client, make, staff, login):
    thread, _, _ = _solved_thread(make)
    login(staff["agent"])
    page = client.get(f"/threads/{thread.id}/promote").get_data(as_text=True)
    assert "How do I export my invoices as PDF?" in page and "Billing → Invoices → Export" in page
    response = client.post(f"/threads/{thread.id}/promote", data={
        "title": "Export invoices as PDF", "category_id": thread.category_id,
        "body": "Billing → Invoices → Export, then choose PDF. Works for every plan.", "tags": "billing",
        "state": "published"})
    assert response.status_code == 302 and re.search(r"/kb/\d+-export-invoices-as-pdf$", response.headers["Location"])
    login(staff["member"])
    assert client.get(f"/threads/{thread.id}/promote").status_code == 403


def test_helpfulness_one_answer_per_visitor(client, make, staff, token_for, db, app):
    category = make.category("Accounts")
    article_id = _write(client, token_for(staff["agent"]), category_id=category.id, state="published").json["id"]
    member = token_for(staff["member"])
    first = client.post(f"/api/v1/articles/{article_id}/feedback", json={"helpful": False, "reason": "Outdated screens"},
                        headers=member)
    assert first.status_code == 201 and first.json == {"counted": True}
    second = client.post(f"/api/v1/articles/{article_id}/feedback", json={"helpful": True}, headers=member)
    assert second.status_code == 200 and second.json == {"counted": False}
    assert client.post(f"/api/v1/articles/{article_id}/feedback", json={"helpful": "yes"}, headers=member).status_code == 400
    # Anonymous readers answer on the page, once per visitor cookie.
    visitor = app.test_client()
    slug = db.session.get(Article, article_id).slug
    visitor.get(f"/kb/{article_id}-{slug}")
    visitor.post(f"/kb/{article_id}/feedback", data={"helpful": "yes"})
    visitor.post(f"/kb/{article_id}/feedback", data={"helpful": "no"})
    db.session.expire_all()
    article = db.session.get(Article, article_id)
    assert (article.helpful_yes, article.helpful_no) == (1, 1)
    assert "You answered <strong>yes</strong>" in visitor.get(f"/kb/{article_id}-{slug}").get_data(as_text=True)
    staff_view = client.get(f"/api/v1/articles/{article_id}", headers=token_for(staff["agent"])).json
    assert (staff_view["helpful_yes"], staff_view["helpful_no"]) == (1, 1)


def test_review_lists_unhelpful_articles(client, make, staff, token_for, db, app, login):
    app.config.update(KB_REVIEW_MIN_VOTES=3, KB_REVIEW_HELPFUL_BELOW=0.5)
    category = make.category("Accounts")
    agent = token_for(staff["agent"])
    bad = _write(client, agent, category_id=category.id, state="published", title="An article nobody likes").json["id"]
    good = _write(client, agent, category_id=category.id, state="published", title="An article everyone likes").json["id"]
    for n, (bad_answer, good_answer) in enumerate([(False, True), (False, True), (True, True)]):
        token = token_for(make.user(f"reader{n}"))
        client.post(f"/api/v1/articles/{bad}/feedback", json={"helpful": bad_answer}, headers=token)
        client.post(f"/api/v1/articles/{good}/feedback", json={"helpful": good_answer}, headers=token)
    login(staff["agent"])
    page = client.get("/kb/review").get_data(as_text=True)
    assert "An article nobody likes" in page and "helpful for 33% of 3 readers" in page
    assert "An article everyone likes" not in page
    login(staff["member"])
    assert client.get("/kb/review").status_code == 403


def test_review_lists_an_article_whose_source_thread_reopened(client, make, staff, token_for, login, db):
    """Promoted from a solved thread; the asker then withdraws the accept and the community answers
    again: the article is listed with both reasons.  A hidden new answer does not count."""
    thread, _answer, _ = _solved_thread(make)
    agent = token_for(staff["agent"])
    promoted = client.post(f"/api/v1/threads/{thread.id}/promote", json={"state": "published"}, headers=agent)
    assert promoted.status_code == 201
    login(staff["agent"])
    assert "How do I export my invoices as PDF?" not in client.get("/kb/review").get_data(as_text=True)

    login(db.session.get(type(staff["agent"]), thread.author_id))
    assert client.post(f"/threads/{thread.id}/accept", data={}).status_code == 302   # no post_id: withdraw
    later = make.reply(thread, author=make.user("third"), body="Newer versions moved it to Documents → Export.")
    hidden = make.reply(thread, author=make.user("spammer"), body="Buy cheap PDFs at my site today.")
    hidden.hidden = True
    db.session.commit()
    assert later.id

    login(staff["agent"])
    page = client.get("/kb/review").get_data(as_text=True)
    assert ("the thread it came from reopened: its accepted answer was withdrawn and "
            "1 new answer since the article was updated") in page

    # Updating the article answers the new replies; the withdrawn accept still lists it.
    article_id = promoted.json["id"]
    edited = client.patch(f"/api/v1/articles/{article_id}", headers=agent, json={
        "body": "Open Documents → Export and choose PDF (Billing → Invoices on older versions).",
        "reason": "The export moved to Documents"})
    assert edited.status_code == 200, edited.json
    page = client.get("/kb/review").get_data(as_text=True)
    assert "the thread it came from reopened: its accepted answer was withdrawn" in page
    assert "new answer since" not in page
