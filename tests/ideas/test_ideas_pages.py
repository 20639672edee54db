"""Idea pages: every action for every role, the vote button with and without JS, forms and errors."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.models import Idea, IdeaComment, IdeaVote, utcnow
from community.services.ideas import exchange

ROLES = ["anonymous", "member", "moderator", "agent", "product", "admin"]


def new_idea(make, db, author=None, title=None, category=None):
    make.n += 1
    idea = exchange.create_idea(author or make.user(), category or make.category(),
                             title or f"Bulk edit for tags number {make.n}",
                             "Editing tags one by one takes forever on big projects.", ["tags"])
    db.session.commit()
    return idea


@pytest.fixture()
def as_role(make, login, client):
    def become(role):
        client.post("/logout")
        if role == "anonymous":
            return None
        user = make.user(role=role)
        login(user)
        return user
    return become


def _is_login_redirect(resp):
    return resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_reading_is_public(role, as_role, client, make, db):
    idea = new_idea(make, db)
    as_role(role)
    listing = client.get("/ideas")
    assert listing.status_code == 200 and idea.title.encode() in listing.data
    page = client.get(f"/ideas/{idea.id}", follow_redirects=True)
    assert page.status_code == 200 and idea.title.encode() in page.data
    assert client.get(f"/ideas/{idea.id}").status_code == 301   # bare id → canonical slug URL


@pytest.mark.parametrize("role", ROLES)
def test_member_actions_by_role(role, as_role, client, make, db):
    category = make.category()
    idea = new_idea(make, db, category=category)
    user = as_role(role)
    form = client.get("/ideas/new")
    created = client.post("/ideas/new", data={"title": "Keyboard shortcuts for everything",
                                              "body": "Power users want to fly through the app.",
                                              "category_id": category.id, "tags": "ui, keyboard"})
    voted = client.post(f"/ideas/{idea.id}/vote")
    commented = client.post(f"/ideas/{idea.id}/comments", data={"body": "We need this too!"})
    followed = client.post(f"/ideas/{idea.id}/follow", data={"action": "follow"})
    if user is None:
        for resp in (form, created, voted, commented, followed):
            assert _is_login_redirect(resp)
        assert db.session.execute(select(func.count()).select_from(Idea)).scalar_one() == 1
        return
    assert form.status_code == 200
    assert created.status_code == 302
    new = db.session.execute(select(Idea).where(Idea.title == "Keyboard shortcuts for everything")).scalar_one()
    assert created.headers["Location"].endswith(f"/ideas/{new.id}/{new.slug}")
    assert new.vote_count == 1 and [t.name for t in new.tags] == ["keyboard", "ui"]
    assert voted.status_code == 302
    db.session.expire_all()
    assert db.session.get(Idea, idea.id).vote_count == 2
    assert commented.status_code == 302
    assert db.session.execute(select(IdeaComment.body)).scalar_one() == "We need this too!"
    assert followed.status_code == 302 and exchange.is_following(user, idea)


@pytest.mark.parametrize("role,allowed", [("anonymous", None), ("member", False), ("moderator", False),
                                          ("agent", False), ("product", True), ("admin", True)])
def test_status_change_by_role(role, allowed, as_role, client, make, db):
    idea = new_idea(make, db)
    as_role(role)
    resp = client.post(f"/ideas/{idea.id}/status", data={"status": "planned", "response": "Planned for June."})
    db.session.expire_all()
    status = db.session.get(Idea, idea.id).status
    if allowed is None:
        assert _is_login_redirect(resp) and status == "new"
    elif allowed:
        assert resp.status_code == 302 and status == "planned"
        page = client.get(resp.headers["Location"])
        assert b"Planned for June." in page.data and b"Official response" in page.data
    else:
        assert resp.status_code == 403 and status == "new"


@pytest.mark.parametrize("role,allowed", [("anonymous", None), ("member", False), ("moderator", True),
                                          ("agent", False), ("product", True), ("admin", True)])
def test_merge_by_role(role, allowed, as_role, client, make, db):
    a, b = new_idea(make, db), new_idea(make, db)
    as_role(role)
    resp = client.post(f"/ideas/{a.id}/merge", data={"into": f"#{b.id}"})
    db.session.expire_all()
    merged = db.session.get(Idea, a.id).merged_into_id
    if allowed is None:
        assert _is_login_redirect(resp) and merged is None
    elif allowed:
        assert resp.status_code == 302 and merged == b.id and db.session.get(Idea, b.id).vote_count == 2
        page = client.get(f"/ideas/{a.id}/{a.slug}")
        assert b"This idea was merged into" in page.data and f"#{b.id}".encode() in page.data
    else:
        assert resp.status_code == 403 and merged is None


@pytest.mark.parametrize("role,allowed", [("anonymous", None), ("member", False), ("moderator", False),
                                          ("agent", False), ("product", True), ("admin", True)])
def test_product_view_and_export_by_role(role, allowed, as_role, client, make, db):
    idea = new_idea(make, db)
    as_role(role)
    view = client.get("/ideas/product")
    export = client.get("/ideas/product/export.csv")
    if allowed is None:
        assert _is_login_redirect(view) and _is_login_redirect(export)
    elif allowed:
        assert view.status_code == 200 and idea.title.encode() in view.data and b"<svg" in view.data
        assert export.status_code == 200 and export.mimetype == "text/csv"
        assert export.data.decode().splitlines()[0] == ("id,title,category,status,votes,votes_30d,customers,threads,"
                                                        "tickets,contacts_90d,demand,created,url")
    else:
        assert view.status_code == 403 and export.status_code == 403


def test_nav_shows_product_view_only_to_product_team(as_role, client):
    as_role("member")
    assert b"Product view" not in client.get("/ideas").data
    as_role("product")
    assert b"Product view" in client.get("/ideas").data


def test_vote_button_toggles_without_and_with_js(as_role, client, make, db):
    idea = new_idea(make, db)
    as_role("member")
    resp = client.post(f"/ideas/{idea.id}/vote", data={"next": "/ideas?sort=new"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/ideas?sort=new")
    page = client.get(f"/ideas/{idea.id}/{idea.slug}").data
    assert b"\xe2\x9c\x93 Voted" in page and b'aria-pressed="true"' in page
    resp = client.post(f"/ideas/{idea.id}/vote", headers={"Accept": "application/json"})
    assert resp.json == {"idea_id": idea.id, "votes": 1, "voted": False}
    resp = client.post(f"/ideas/{idea.id}/vote", headers={"Accept": "application/json"})
    assert resp.json == {"idea_id": idea.id, "votes": 2, "voted": True}
    # an open redirect is refused
    resp = client.post(f"/ideas/{idea.id}/vote", data={"next": "https://evil.example/"})
    assert resp.headers["Location"].endswith(f"/ideas/{idea.id}/{idea.slug}")


def test_vote_on_closed_idea_is_refused(as_role, client, make, db):
    idea = new_idea(make, db)
    exchange.change_status(make.user(role="product"), idea, "declined", "Not planned, sorry.")
    db.session.commit()
    as_role("member")
    resp = client.post(f"/ideas/{idea.id}/vote", headers={"Accept": "application/json"})
    assert resp.status_code == 409 and "declined" in resp.json["error"]["message"]
    assert b"\xe2\x96\xb2 Vote" not in client.get(f"/ideas/{idea.id}/{idea.slug}").data


def test_suspended_member_cannot_write(as_role, client, make, db):
    idea = new_idea(make, db)
    user = as_role("member")
    user.suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    assert client.post(f"/ideas/{idea.id}/vote").status_code == 403
    assert client.post(f"/ideas/{idea.id}/comments", data={"body": "hello there"}).status_code == 403
    assert client.get("/ideas/new").status_code == 403


def test_new_idea_errors_keep_input_and_show_similar(as_role, client, make, db):
    new_idea(make, db, title="Offline mode for the mobile app")
    as_role("member")
    resp = client.post("/ideas/new", data={"title": "Offline mobile", "body": "short", "category_id": ""})
    assert resp.status_code == 400
    assert b"Choose an existing category" in resp.data
    assert b'value="Offline mobile"' in resp.data
    assert b"Offline mode for the mobile app" in resp.data   # similar ideas, server-rendered


def test_status_form_errors_are_shown(as_role, client, make, db):
    idea = new_idea(make, db)
    as_role("product")
    resp = client.post(f"/ideas/{idea.id}/status", data={"status": "planned", "response": ""})
    assert resp.status_code == 400 and b"needs an official response" in resp.data
    resp = client.post(f"/ideas/{idea.id}/merge", data={"into": str(idea.id)})
    assert resp.status_code == 400 and b"cannot be merged into itself" in resp.data
    resp = client.post(f"/ideas/{idea.id}/merge", data={"into": "999"})
    assert resp.status_code == 400 and b"no idea #999" in resp.data


def test_similar_endpoint(client, make, db):
    idea = new_idea(make, db, title="Dark mode for the web app")
    resp = client.get("/ideas/similar?q=dark%20web")
    assert resp.status_code == 200
    assert resp.json["results"][0]["id"] == idea.id and resp.json["results"][0]["votes"] == 1
    assert resp.json["engine"] in ("title", "search")
    assert client.get("/ideas/similar?q=a").json["results"] == []


def test_list_filters_and_latest_response(as_role, client, make, db):
    product = make.user(role="product")
    planned = new_idea(make, db, title="Planned idea with a response")
    other = new_idea(make, db, title="Another idea without response")
    exchange.change_status(product, planned, "planned", "Coming in the **autumn** release.")
    db.session.commit()
    page = client.get("/ideas?status=planned").data
    assert b"Planned idea with a response" in page and b"Another idea without" not in page
    assert b"Coming in the autumn release." in page
    assert b"Another idea without" in client.get(f"/ideas?category={other.category_id}").data
    assert b"Planned idea" in client.get("/ideas?tag=tags&sort=trending").data
    assert client.get("/ideas?sort=bogus&status=bogus&category=x").status_code == 200


def test_unfollow(as_role, client, make, db):
    idea = new_idea(make, db)
    user = as_role("member")
    client.post(f"/ideas/{idea.id}/vote")
    assert exchange.is_following(user, idea)
    client.post(f"/ideas/{idea.id}/follow", data={"action": "unfollow"})
    assert not exchange.is_following(user, idea)
    assert db.session.execute(select(func.count()).select_from(IdeaVote).where(IdeaVote.user_id == user.id)).scalar_one() == 1


def test_idea_page_lists_similar_ideas_for_spotting_duplicates(client, make, db):
    idea = new_idea(make, db, title="Offline mode for the mobile app")
    twin = new_idea(make, db, title="Mobile app should work offline")
    new_idea(make, db, title="Invoices as one ZIP archive")
    page = client.get(f"/ideas/{idea.id}/{idea.slug}").data.decode()
    related = page.split('class="panel related-ideas"')[1]
    assert twin.title in related and "ZIP" not in related and f">{idea.title}<" not in related


def _count_queries(db, fn):
    from sqlalchemy import event

    count = {"n": 0}

    def before(*_args, **_kw):
        count["n"] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count["n"]


@pytest.mark.parametrize("path", ["/ideas", "/ideas?sort=trending", "/ideas/product", "/api/v1/ideas"])
def test_lists_cost_the_same_number_of_queries_for_3_or_15_ideas(path, as_role, client, make, db):
    """No N+1: adding ideas (with tags, responses, voters) does not add queries."""
    product = make.user(role="product")

    def add(n):
        for _ in range(n):
            idea = new_idea(make, db)
            exchange.set_vote(make.user(), idea, 1)
            exchange.change_status(product, idea, "planned", "Planned for the next release.")
        db.session.commit()

    as_role("product")
    add(3)
    few = _count_queries(db, lambda: client.get(path))
    add(12)
    many = _count_queries(db, lambda: client.get(path))
    assert many == few, (few, many)


def test_idea_page_query_count_does_not_grow_with_history_and_comments(client, make, db):
    idea = new_idea(make, db)
    product = make.user(role="product")
    url = f"/ideas/{idea.id}/{idea.slug}"
    exchange.change_status(product, idea, "under_review", "Looking into it.")
    exchange.add_comment(make.user(), idea, "First comment here.")
    db.session.commit()
    few = _count_queries(db, lambda: client.get(url))
    for n, status in enumerate(("planned", "in_progress", "delivered")):
        exchange.change_status(make.user(role="product"), idea, status, f"Step {n} response text.")
        exchange.add_comment(make.user(), idea, f"Comment number {n}.")
    db.session.commit()
    assert _count_queries(db, lambda: client.get(url)) == few


def test_refused_vote_does_not_redirect_off_site(as_role, client, make, db):
    idea = new_idea(make, db)
    exchange.change_status(make.user(role="product"), idea, "declined", "Not planned, sorry.")
    db.session.commit()
    as_role("member")
    resp = client.post(f"/ideas/{idea.id}/vote", data={"next": "//evil.example/"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/ideas/{idea.id}/{idea.slug}")
