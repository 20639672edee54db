"""Every JSON API v1 endpoint: the success shape and each documented error."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.models import Category, Post, Thread


def err(response, status, code=None, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["message"]
    if code:
        assert body["code"] == code
    if field:
        assert body["field"] == field
    return body


@pytest.fixture()
def member(make):
    return make.user("member", reputation=500)


@pytest.fixture()
def auth(member, token_for):
    return token_for(member)


# -- authentication ---------------------------------------------------------------

def test_missing_token_is_401(client, make):
    category = make.category()
    r = client.post("/api/v1/threads", json={"category_id": category.id, "title": "x" * 20, "body": "y" * 30})
    err(r, 401, "unauthorized")


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz"])
def test_bad_or_malformed_token_is_401_even_on_public_endpoints(client, header):
    err(client.get("/api/v1/categories", headers={"Authorization": header}), 401, "unauthorized")


def test_revoked_token_is_401(client, db, member, auth):
    from community.models import ApiToken, utcnow

    for row in db.session.execute(select(ApiToken)).scalars():
        row.revoked_at = utcnow()
    db.session.commit()
    err(client.get("/api/v1/categories", headers=auth), 401)


# -- categories ---------------------------------------------------------------------

def test_list_categories_with_counts(client, make):
    category = make.category("Billing")
    thread = make.thread(category=category)
    make.reply(thread)
    r = client.get("/api/v1/categories")
    assert r.status_code == 200
    [row] = r.get_json()["categories"]
    assert row["name"] == "Billing" and row["slug"] == "billing"
    assert row["threads"] == 1 and row["solved"] == 0


def test_create_category_admin_only(client, db, make, token_for, auth):
    admin = token_for(make.user("boss", role="admin"))
    r = client.post("/api/v1/categories", json={"name": "Mobile App", "description": "Phones"}, headers=admin)
    assert r.status_code == 201
    assert r.get_json()["slug"] == "mobile-app"
    err(client.post("/api/v1/categories", json={"name": "Other"}, headers=auth), 403, "forbidden")
    err(client.post("/api/v1/categories", json={"name": "Other"}), 401)
    err(client.post("/api/v1/categories", json={"name": "mobile app"}, headers=admin), 409, "conflict", "name")
    err(client.post("/api/v1/categories", json={"name": "x"}, headers=admin), 400, "validation_error", "name")
    err(client.post("/api/v1/categories", json={"description": "no name"}, headers=admin), 400, field="name")
    err(client.post("/api/v1/categories", json={"name": 5}, headers=admin), 400, field="name")
    assert db.session.execute(select(func.count()).select_from(Category)).scalar_one() == 1


# -- threads ------------------------------------------------------------------------

def test_create_thread_returns_201_with_the_thread(client, make, auth):
    category = make.category()
    r = client.post("/api/v1/threads", headers=auth, json={
        "category_id": category.id, "title": "Sync stops after the update",
        "body": "Since version 4.2 the client stops syncing after an hour.", "tags": ["sync", "Desktop"]})
    assert r.status_code == 201
    data = r.get_json()
    assert data["title"] == "Sync stops after the update"
    assert data["tags"] == ["desktop", "sync"]
    assert data["solved"] is False and data["accepted_post_id"] is None
    assert data["question_post_id"] == data["posts"][0]["id"]
    assert data["posts"][0]["is_question"] is True
    assert data["url"].endswith(f"/threads/{data['id']}/sync-stops-after-the-update")


@pytest.mark.parametrize("payload, field", [
    ({"title": "A long enough title", "body": "b" * 30}, "category_id"),
    ({"category_id": 999, "title": "A long enough title", "body": "b" * 30}, "category_id"),
    ({"category_id": "1", "title": "A long enough title", "body": "b" * 30}, "category_id"),
    ({"category_id": "CAT", "title": "short", "body": "b" * 30}, "title"),
    ({"category_id": "CAT", "title": "t" * 151, "body": "b" * 30}, "title"),
    ({"category_id": "CAT", "title": "A long enough title", "body": "too short"}, "body"),
    ({"category_id": "CAT", "title": "A long enough title", "body": "b" * 30001}, "body"),
    ({"category_id": "CAT", "title": "A long enough title", "body": "b" * 30, "tags": ["a", "b", "c", "d", "e", "f"]}, "tags"),
    ({"category_id": "CAT", "title": "A long enough title", "body": "b" * 30, "tags": [1]}, "tags"),
    ({"category_id": "CAT", "title": "A long enough title", "body": "b" * 30, "tags": ["no spaces!"]}, "tags"),
    ({"category_id": "CAT", "title": None, "body": "b" * 30}, "title"),
])
def test_create_thread_validation_names_the_field(client, db, make, auth, payload, field):
    category = make.category()
    payload = {k: (category.id if v == "CAT" else v) for k, v in payload.items()}
    err(client.post("/api/v1/threads", headers=auth, json=payload), 400, "validation_error", field)
    assert db.session.execute(select(func.count()).select_from(Thread)).scalar_one() == 0


def test_non_json_body_is_400(client, make, auth):
    r = client.post("/api/v1/threads", headers=auth, data="title=x", content_type="application/x-www-form-urlencoded")
    err(r, 400, "validation_error")
    err(client.post("/api/v1/threads", headers=auth, json=[1, 2]), 400)


def test_get_thread_with_posts_and_accept_state(client, make, db):
    thread = make.thread()
    a1 = make.reply(thread)
    a2 = make.reply(thread)
    from community.services.forum import accepting

    accepting.accept(thread.author, thread, a2)
    db.session.commit()
    data = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert data["solved"] is True and data["accepted_post_id"] == a2.id
    assert [p["id"] for p in data["posts"]] == [thread.question_post_id, a2.id, a1.id]
    assert data["question_post_id"] == thread.question_post_id


def test_get_thread_404s(client, make, db):
    err(client.get("/api/v1/threads/999"), 404, "not_found")
    thread = make.thread()
    thread.deleted = True
    db.session.commit()
    err(client.get(f"/api/v1/threads/{thread.id}"), 404)
    err(client.get("/api/v1/no-such-endpoint"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    r = client.delete("/api/v1/categories")
    assert r.status_code == 405
    assert r.get_json()["error"]["code"] == "method_not_allowed"


# -- posts ---------------------------------------------------------------------------

def test_reply_returns_201_and_bumps_the_thread(client, make, auth, db):
    thread = make.thread()
    r = client.post(f"/api/v1/threads/{thread.id}/posts", headers=auth, json={"body": "Try turning it off and on."})
    assert r.status_code == 201
    post = r.get_json()
    assert post["thread_id"] == thread.id and post["is_question"] is False
    db.session.refresh(thread)
    assert thread.reply_count == 1


def test_reply_errors(client, make, auth, db):
    thread = make.thread()
    err(client.post(f"/api/v1/threads/{thread.id}/posts", headers=auth, json={}), 400, field="body")
    err(client.post(f"/api/v1/threads/{thread.id}/posts", headers=auth, json={"body": "x"}), 400, field="body")
    err(client.post("/api/v1/threads/999/posts", headers=auth, json={"body": "hello there"}), 404)
    err(client.post(f"/api/v1/threads/{thread.id}/posts", json={"body": "hello there"}), 401)
    thread.locked = True
    db.session.commit()
    body = err(client.post(f"/api/v1/threads/{thread.id}/posts", headers=auth, json={"body": "hello there"}), 403)
    assert "locked" in body["message"]


def test_vote_sets_changes_and_withdraws(client, make, auth):
    thread = make.thread()
    answer = make.reply(thread)
    url = f"/api/v1/posts/{answer.id}/vote"
    assert client.post(url, headers=auth, json={"value": 1}).get_json() == {"post_id": answer.id, "score": 1, "vote": 1}
    assert client.post(url, headers=auth, json={"value": 1}).get_json()["score"] == 1
    assert client.post(url, headers=auth, json={"value": -1}).get_json()["score"] == -1
    assert client.post(url, headers=auth, json={"value": 0}).get_json()["score"] == 0


def test_vote_errors(client, make, member, auth, token_for):
    thread = make.thread()
    answer = make.reply(thread)
    url = f"/api/v1/posts/{answer.id}/vote"
    for bad in (2, "1", True, None):
        err(client.post(url, headers=auth, json={"value": bad}), 400, field="value")
    err(client.post(url, headers=auth, json={}), 400, field="value")
    err(client.post("/api/v1/posts/999/vote", headers=auth, json={"value": 1}), 404)
    err(client.post(url, json={"value": 1}), 401)
    own = make.reply(thread, author=member)
    body = err(client.post(f"/api/v1/posts/{own.id}/vote", headers=auth, json={"value": 1}), 403)
    assert "own" in body["message"]
    newbie = token_for(make.user("newbie"))
    body = err(client.post(url, headers=newbie, json={"value": -1}), 403)
    assert "125" in body["message"]


def test_accept_and_withdraw(client, make, token_for, db):
    asker = make.user("asker")
    thread = make.thread(author=asker)
    answer = make.reply(thread)
    auth = token_for(asker)
    r = client.post(f"/api/v1/threads/{thread.id}/accept", headers=auth, json={"post_id": answer.id})
    assert r.status_code == 200
    assert r.get_json()["solved"] is True and r.get_json()["accepted_post_id"] == answer.id
    r = client.post(f"/api/v1/threads/{thread.id}/accept", headers=auth, json={"post_id": None})
    assert r.get_json()["solved"] is False and r.get_json()["accepted_post_id"] is None


def test_accept_errors(client, make, token_for, auth):
    asker = make.user("asker")
    thread = make.thread(author=asker)
    other_thread = make.thread()
    foreign = make.reply(other_thread)
    mine = token_for(asker)
    url = f"/api/v1/threads/{thread.id}/accept"
    err(client.post(url, headers=mine, json={}), 400, field="post_id")
    err(client.post(url, headers=mine, json={"post_id": "x"}), 400, field="post_id")
    err(client.post(url, headers=mine, json={"post_id": 999}), 400, field="post_id")
    err(client.post(url, headers=mine, json={"post_id": foreign.id}), 400, field="post_id")
    err(client.post(url, headers=mine, json={"post_id": thread.question_post_id}), 400, field="post_id")
    err(client.post(url, headers=auth, json={"post_id": None}), 403)
    err(client.post(url, json={"post_id": None}), 401)
    err(client.post("/api/v1/threads/999/accept", headers=mine, json={"post_id": None}), 404)


def test_edit_post_keeps_a_revision(client, make, member, auth, db):
    thread = make.thread(author=member)
    r = client.patch(f"/api/v1/posts/{thread.question_post_id}", headers=auth, json={
        "body": "Now with **more** detail about the problem.", "title": "A clearer title for it",
        "tags": ["sync"], "reason": "clarify"})
    assert r.status_code == 200, r.get_json()
    assert "<strong>more</strong>" in r.get_json()["body_html"]
    db.session.refresh(thread)
    assert thread.title == "A clearer title for it" and [t.name for t in thread.tags] == ["sync"]
    from community.services.forum.threads import revisions

    [rev] = revisions(thread.question_post_id)
    assert rev.reason == "clarify" and rev.body.startswith("I tried")
    err(client.patch(f"/api/v1/posts/{thread.question_post_id}", headers=auth, json={"body": "short"}), 400, field="body")
    other = make.thread()
    err(client.patch(f"/api/v1/posts/{other.question_post_id}", headers=auth, json={"body": "b" * 30}), 403)
    err(client.patch("/api/v1/posts/999", headers=auth, json={"body": "b" * 30}), 404)


def test_delete_post(client, make, member, auth, db):
    thread = make.thread()
    answer = make.reply(thread, author=member)
    r = client.delete(f"/api/v1/posts/{answer.id}", headers=auth)
    assert r.get_json() == {"post_id": answer.id, "thread_deleted": False}
    err(client.delete(f"/api/v1/posts/{answer.id}", headers=auth), 404)
    err(client.delete(f"/api/v1/posts/{thread.question_post_id}", headers=auth), 403)
    err(client.delete(f"/api/v1/posts/{thread.question_post_id}"), 401)


# -- users ---------------------------------------------------------------------------

def test_get_user(client, make, db):
    user = make.user("Carol", role="agent")
    make.thread(author=user)
    data = client.get("/api/v1/users/carol").get_json()
    assert data["username"] == "Carol" and data["role"] == "agent"
    assert data["reputation"] == 1 and data["rank"] == "Newcomer"
    assert data["questions"] == 1 and data["answers"] == 0 and data["accepted_answers"] == 0
    assert "email" not in data and "password_hash" not in data
    err(client.get("/api/v1/users/nobody"), 404)


def test_suspended_token_user_may_read_but_not_write(client, make, token_for, db):
    from datetime import timedelta

    from community.models import utcnow

    user = make.user("suspended")
    user.suspended_until = utcnow() + timedelta(days=3)
    db.session.commit()
    auth = token_for(user)
    thread = make.thread()
    assert client.get(f"/api/v1/threads/{thread.id}", headers=auth).status_code == 200
    err(client.post(f"/api/v1/threads/{thread.id}/posts", headers=auth, json={"body": "hello there"}), 403)
    assert db.session.execute(select(func.count()).select_from(Post)).scalar_one() == 1
