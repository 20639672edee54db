"""The role × action matrix, through the HTML pages and through the JSON API.

Each action is tried by every role on fresh objects; what counts is the
effect in the database (and, for the API, the status: 401 anonymous, 403
refused).  The expected table is written out once and shared by both.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.models import Category, Post, Thread, Vote, utcnow
from community.services.accounts import users
from community.services.forum import threads

ROLES = ["anonymous", "member", "suspended", "moderator", "agent", "product", "admin",
         "member_rep125", "member_rep2000"]
ACTIVE = set(ROLES) - {"anonymous", "suspended"}
EXPECTED = {
    "create_thread": ACTIVE,
    "reply": ACTIVE,
    "reply_locked": {"moderator", "admin"},
    "vote_up": ACTIVE,
    "vote_down": {"moderator", "admin", "member_rep125", "member_rep2000"},
    "accept_others_thread": {"moderator", "admin"},
    "edit_own": ACTIVE,
    "edit_others": {"moderator", "admin", "member_rep2000"},
    "delete_own": ACTIVE,
    "delete_others": {"moderator", "admin"},
    "create_category": {"admin"},
}


class World:
    """Users of every role, a category, and fresh posts on demand."""

    def __init__(self, db, make):
        self.db = db
        self.make = make
        self.category = make.category("Products")
        self.owner = make.user("owner")
        self.helper = make.user("helper")
        self.users = {}
        for role in ROLES[1:]:
            base = "member" if role.startswith("member") or role == "suspended" else role
            rep = {"member_rep125": 124, "member_rep2000": 1999}.get(role, 0)
            user = make.user(role.replace("_", ""), role=base, reputation=rep)
            if role == "suspended":
                user.suspended_until = utcnow() + timedelta(days=7)
            self.users[role] = user
        db.session.commit()

    def thread(self, locked=False):
        thread = self.make.thread(author=self.owner, category=self.category)
        thread.locked = locked
        self.db.session.commit()
        return thread

    def answer(self, author=None, thread=None):
        post = threads.add_reply(author or self.helper, thread or self.thread(), "An answer that helps.")
        self.db.session.commit()
        return post

    def count(self, model, *where):
        return self.db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.fixture()
def world(db, make):
    return World(db, make)


# Each action: (html(client, world, actor) -> bool effect, api(client, world, actor, headers) -> (status, effect))

def _vote_value(world, post, actor):
    if actor is None:
        return 0
    return world.db.session.execute(select(Vote.value).where(Vote.post_id == post.id, Vote.user_id == actor.id)).scalar() or 0


def html_action(name, client, world, actor):
    db = world.db
    if name == "create_thread":
        before = world.count(Thread)
        client.post("/ask", data={"title": "My printer is not found", "body": "The app never finds my printer at all.",
                                  "category_id": world.category.id, "tags": "",
                                  # past the no-JavaScript "see the matches first" step
                                  "post_anyway": "1"})
        return world.count(Thread) == before + 1
    if name in ("reply", "reply_locked"):
        thread = world.thread(locked=name == "reply_locked")
        client.post(f"/threads/{thread.id}/reply", data={"body": "Have you tried the settings page?"})
        return world.count(Post, Post.thread_id == thread.id) == 2
    if name in ("vote_up", "vote_down"):
        post = world.answer()
        value = 1 if name == "vote_up" else -1
        client.post(f"/posts/{post.id}/vote", data={"value": value})
        return _vote_value(world, post, actor) == value
    if name == "accept_others_thread":
        post = world.answer()
        client.post(f"/threads/{post.thread_id}/accept", data={"post_id": post.id})
        db.session.expire_all()
        return db.session.get(Thread, post.thread_id).accepted_post_id == post.id
    if name in ("edit_own", "edit_others"):
        post = world.answer(author=actor if (name == "edit_own" and actor) else None)
        client.post(f"/posts/{post.id}/edit", data={"body": "A completely rewritten answer."})
        db.session.expire_all()
        return db.session.get(Post, post.id).body == "A completely rewritten answer."
    if name in ("delete_own", "delete_others"):
        post = world.answer(author=actor if (name == "delete_own" and actor) else None)
        client.post(f"/posts/{post.id}/delete")
        db.session.expire_all()
        return db.session.get(Post, post.id).deleted
    if name == "create_category":
        before = world.count(Category)
        client.post("/admin/categories/new", data={"name": f"New category {before}", "description": ""})
        return world.count(Category) == before + 1
    raise AssertionError(name)


def api_action(name, client, world, actor, headers):
    db = world.db
    if name == "create_thread":
        r = client.post("/api/v1/threads", headers=headers, json={
            "category_id": world.category.id, "title": "My printer is not found", "body": "The app never finds my printer at all."})
        return r, r.status_code == 201
    if name in ("reply", "reply_locked"):
        thread = world.thread(locked=name == "reply_locked")
        r = client.post(f"/api/v1/threads/{thread.id}/posts", headers=headers, json={"body": "Have you tried the settings page?"})
        return r, world.count(Post, Post.thread_id == thread.id) == 2
    if name in ("vote_up", "vote_down"):
        post = world.answer()
        value = 1 if name == "vote_up" else -1
        r = client.post(f"/api/v1/posts/{post.id}/vote", headers=headers, json={"value": value})
        return r, _vote_value(world, post, actor) == value
    if name == "accept_others_thread":
        post = world.answer()
        r = client.post(f"/api/v1/threads/{post.thread_id}/accept", headers=headers, json={"post_id": post.id})
        db.session.expire_all()
        return r, db.session.get(Thread, post.thread_id).accepted_post_id == post.id
    if name in ("edit_own", "edit_others"):
        post = world.answer(author=actor if (name == "edit_own" and actor) else None)
        r = client.patch(f"/api/v1/posts/{post.id}", headers=headers, json={"body": "A completely rewritten answer."})
        db.session.expire_all()
        return r, db.session.get(Post, post.id).body == "A completely rewritten answer."
    if name in ("delete_own", "delete_others"):
        post = world.answer(author=actor if (name == "delete_own" and actor) else None)
        r = client.delete(f"/api/v1/posts/{post.id}", headers=headers)
        db.session.expire_all()
        return r, db.session.get(Post, post.id).deleted
    if name == "create_category":
        before = world.count(Category)
        r = client.post("/api/v1/categories", headers=headers, json={"name": f"New category {before}"})
        return r, world.count(Category) == before + 1
    raise AssertionError(name)


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_html_matrix(app, world, action):
    allowed = set()
    for role in ROLES:
        client = app.test_client()
        actor = world.users.get(role)
        if actor is not None:
            r = client.post("/login", data={"login": actor.username, "password": "password123"})
            assert r.status_code == 302, (role, r.status_code)
        if html_action(action, client, world, actor):
            allowed.add(role)
    assert allowed == EXPECTED[action]


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_api_matrix(app, db, world, action):
    allowed, statuses = set(), {}
    for role in ROLES:
        client = app.test_client()
        actor = world.users.get(role)
        headers = {}
        if actor is not None:
            headers = {"Authorization": f"Bearer {users.issue_token(actor)}"}
            db.session.commit()
        response, effect = api_action(action, client, world, actor, headers)
        statuses[role] = response.status_code
        if effect:
            allowed.add(role)
            assert response.status_code in (200, 201), (role, response.get_json())
        elif role == "anonymous":
            assert response.status_code == 401, response.get_json()
        else:
            assert response.status_code == 403, (role, response.get_json())
    assert allowed == EXPECTED[action], statuses


def test_the_asker_may_accept_and_others_may_not(app, world, db):
    post = world.answer()
    client = app.test_client()
    client.post("/login", data={"login": world.helper.username, "password": "password123"})
    assert client.post(f"/threads/{post.thread_id}/accept", data={"post_id": post.id}).status_code == 403
    client.post("/logout")
    client.post("/login", data={"login": world.owner.username, "password": "password123"})
    assert client.post(f"/threads/{post.thread_id}/accept", data={"post_id": post.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Thread, post.thread_id).accepted_post_id == post.id


def test_nobody_votes_on_their_own_post(app, world, db):
    for role in ("member", "moderator", "admin"):
        actor = world.users[role]
        post = world.answer(author=actor)
        client = app.test_client()
        client.post("/login", data={"login": actor.username, "password": "password123"})
        r = client.post(f"/posts/{post.id}/vote", data={"value": 1}, headers={"Accept": "application/json"})
        assert r.status_code == 403 and "own post" in r.get_json()["error"]["message"]
        assert _vote_value(world, post, actor) == 0


def test_privilege_thresholds_unlock_exactly_at_the_configured_reputation(app, world, db):
    from community import permissions

    member = world.users["member"]
    post = world.answer()
    for points, can_down in ((123, False), (124, True)):   # reputation = 1 + points
        member.reputation_points = points
        assert permissions.can_vote(member, post, -1) is can_down
    app.config["PRIVILEGES"] = dict(app.config["PRIVILEGES"], vote_down=10)
    member.reputation_points = 9
    assert permissions.can_vote(member, post, -1)
    db.session.rollback()
