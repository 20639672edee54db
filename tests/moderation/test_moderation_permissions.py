"""Every role against every moderation action, on pages and in the API.

Each action is tried on objects of its own, and the test checks both the
answer (status) and the effect: an action refused must change nothing, an
action allowed must do what it says.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from community.models import AuditEntry, Flag, Post, Thread, User, utcnow
from community.services.moderation import actions, flags

ROLES = ("anonymous", "member_low", "member", "suspended", "moderator", "agent", "product", "admin")
MODERATORS = {"moderator", "admin"}
FLAGGERS = {"member", "moderator", "admin"}  # the flag privilege (15 reputation) or moderator rights
UNTIL = (utcnow() + timedelta(days=5)).date().isoformat()


class World:
    """Shared people and categories; each action gets fresh threads via ``fresh()``."""

    def __init__(self, make, db):
        self.make, self.db = make, db
        self.author = make.user("author")
        self.replier = make.user("replier")
        self.flagger = make.user("flagger", reputation=30)
        self.home = make.category("Home")
        self.other = make.category("Other")

    def fresh(self):
        thread = self.make.thread(author=self.author, category=self.home)
        reply = self.make.reply(thread, author=self.replier)
        return thread, reply

    def user_for(self, role: str):
        if role == "anonymous":
            return None
        if role == "member_low":
            return self.make.user("low")
        if role in ("member", "suspended"):
            user = self.make.user(role, reputation=30)
            if role == "suspended":
                user.suspended_until = utcnow() + timedelta(days=3)
                self.db.session.commit()
            return user
        return self.make.user(role, role=role)


def reload(db, model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


# Each action: setup(world) -> ctx; request(ctx) -> (method, page_url, page_form, api_url, api_json);
# effect(db, ctx) -> whether the action took place; allowed: roles allowed.

def _lock(w):
    t, r = w.fresh()
    return {"t": t.id}


def _pin(w):
    return _lock(w)


def _hidden_thread(w):
    t, r = w.fresh()
    actions.hide_thread(None, t, "Spam thread")
    w.db.session.commit()
    return {"t": t.id}


def _reply(w):
    t, r = w.fresh()
    return {"t": t.id, "p": r.id}


def _hidden_reply(w):
    t, r = w.fresh()
    actions.hide_post(None, r, "Spam reply")
    w.db.session.commit()
    return {"t": t.id, "p": r.id}


def _flagged_reply(w):
    t, r = w.fresh()
    flags.flag_post(w.flagger, r, "spam")
    w.db.session.commit()
    return {"t": t.id, "p": r.id}


def _merge(w):
    a, _ = w.fresh()
    b, _ = w.fresh()
    return {"t": a.id, "b": b.id}


def _victim(w):
    w.make.n += 1
    victim = w.make.user(f"victim{w.make.n}")
    return {"u": victim.id, "name": victim.username}


def _suspended_victim(w):
    ctx = _victim(w)
    victim = w.db.session.get(User, ctx["u"])
    victim.suspended_until = utcnow() + timedelta(days=3)
    w.db.session.commit()
    return ctx


ACTIONS = {
    "lock": dict(setup=_lock, allowed=MODERATORS,
                 page=lambda c: (f"/moderation/threads/{c['t']}/lock", {"locked": "1"}),
                 api=lambda c: (f"/api/v1/threads/{c['t']}/lock", {"locked": True}),
                 effect=lambda db, c: reload(db, Thread, c["t"]).locked),
    "pin": dict(setup=_pin, allowed=MODERATORS,
                page=lambda c: (f"/moderation/threads/{c['t']}/pin", {"pinned": "1"}),
                api=lambda c: (f"/api/v1/threads/{c['t']}/pin", {"pinned": True}),
                effect=lambda db, c: reload(db, Thread, c["t"]).pinned),
    "move": dict(setup=_lock, allowed=MODERATORS,
                 page=lambda c: (f"/moderation/threads/{c['t']}/move", {"category_id": c["cat"]}),
                 api=lambda c: (f"/api/v1/threads/{c['t']}/move", {"category_id": c["cat"]}),
                 effect=lambda db, c: reload(db, Thread, c["t"]).category_id == c["cat"]),
    "merge": dict(setup=_merge, allowed=MODERATORS,
                  page=lambda c: (f"/moderation/threads/{c['t']}/merge", {"target": str(c["b"])}),
                  api=lambda c: (f"/api/v1/threads/{c['t']}/merge", {"target_id": c["b"]}),
                  effect=lambda db, c: reload(db, Thread, c["t"]).merged_into_id == c["b"]),
    "hide_thread": dict(setup=_lock, allowed=MODERATORS,
                        page=lambda c: (f"/moderation/threads/{c['t']}/hide", {"reason": "Spam here"}),
                        api=lambda c: (f"/api/v1/threads/{c['t']}/hide", {"hidden": True, "reason": "Spam"}),
                        effect=lambda db, c: reload(db, Thread, c["t"]).hidden),
    "restore_thread": dict(setup=_hidden_thread, allowed=MODERATORS,
                           page=lambda c: (f"/moderation/threads/{c['t']}/restore", {}),
                           api=lambda c: (f"/api/v1/threads/{c['t']}/hide", {"hidden": False}),
                           effect=lambda db, c: not reload(db, Thread, c["t"]).hidden),
    "hide_post": dict(setup=_reply, allowed=MODERATORS,
                      page=lambda c: (f"/moderation/posts/{c['p']}/hide", {"reason": "Rude words"}),
                      api=lambda c: (f"/api/v1/posts/{c['p']}/hide", {"hidden": True, "reason": "Rude"}),
                      effect=lambda db, c: reload(db, Post, c["p"]).hidden),
    "restore_post": dict(setup=_hidden_reply, allowed=MODERATORS,
                         page=lambda c: (f"/moderation/posts/{c['p']}/restore", {}),
                         api=lambda c: (f"/api/v1/posts/{c['p']}/hide", {"hidden": False}),
                         effect=lambda db, c: not reload(db, Post, c["p"]).hidden),
    "resolve": dict(setup=_flagged_reply, allowed=MODERATORS,
                    page=lambda c: (f"/moderation/posts/{c['p']}/resolve", {"outcome": "dismissed"}),
                    api=lambda c: (f"/api/v1/posts/{c['p']}/flags/resolve", {"outcome": "dismissed"}),
                    effect=lambda db, c: db.session.execute(
                        select(Flag.outcome).where(Flag.post_id == c["p"])).scalar() == "dismissed"),
    "flag": dict(setup=_reply, allowed=FLAGGERS,
                 page=lambda c: (f"/moderation/posts/{c['p']}/flag", {"reason": "spam", "note": "ad"}),
                 api=lambda c: (f"/api/v1/posts/{c['p']}/flag", {"reason": "spam", "note": "ad"}),
                 effect=lambda db, c: db.session.execute(
                     select(func.count()).select_from(Flag).where(Flag.post_id == c["p"])).scalar() == 1),
    "suspend": dict(setup=_victim, allowed=MODERATORS,
                    page=lambda c: (f"/moderation/users/{c['name']}/suspend", {"reason": "Spamming", "until": UNTIL}),
                    api=lambda c: (f"/api/v1/users/{c['name']}/suspend", {"reason": "Spamming", "until": UNTIL}),
                    effect=lambda db, c: reload(db, User, c["u"]).is_suspended),
    "reinstate": dict(setup=_suspended_victim, allowed=MODERATORS,
                      page=lambda c: (f"/moderation/users/{c['name']}/reinstate", {}),
                      api=lambda c: (f"/api/v1/users/{c['name']}/reinstate", {}),
                      effect=lambda db, c: not reload(db, User, c["u"]).is_suspended),
}

GET_PAGES = {"queue": "/moderation", "audit": "/moderation/audit"}
GET_API = {"queue": "/api/v1/moderation/flags", "audit": "/api/v1/audit"}


@pytest.mark.parametrize("role", ROLES)
def test_page_permission_matrix(role, make, db, client, login):
    world = World(make, db)
    user = world.user_for(role)
    if user is not None:
        assert login(user).status_code == 302
    for name, url in GET_PAGES.items():
        response = client.get(url)
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], name
        else:
            assert response.status_code == (200 if role in MODERATORS else 403), (name, role)
    for name, action in ACTIONS.items():
        ctx = action["setup"](world)
        ctx["cat"] = world.other.id
        audits_before = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar()
        url, form = action["page"](ctx)
        response = client.post(url, data=form)
        allowed = role in action["allowed"] and role != "anonymous"
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], name
        elif allowed:
            assert response.status_code == 302, (name, role, response.data[:300])
        else:
            assert response.status_code == 403, (name, role, response.status_code)
        assert bool(action["effect"](db, ctx)) == allowed, (name, role)
        audits_after = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar()
        if name != "flag":  # flagging is a member action, not audited
            assert (audits_after > audits_before) == allowed, (name, role)


@pytest.mark.parametrize("role", ROLES)
def test_api_permission_matrix(role, make, db, client, token_for):
    world = World(make, db)
    user = world.user_for(role)
    headers = token_for(user) if user is not None else {}
    for name, url in GET_API.items():
        response = client.get(url, headers=headers)
        expected = 401 if role == "anonymous" else 200 if role in MODERATORS else 403
        assert response.status_code == expected, (name, role)
        if expected >= 400:
            assert response.json["error"]["code"]
    for name, action in ACTIONS.items():
        ctx = action["setup"](world)
        ctx["cat"] = world.other.id
        url, body = action["api"](ctx)
        response = client.post(url, json=body, headers=headers)
        allowed = role in action["allowed"] and role != "anonymous"
        if role == "anonymous":
            expected = 401
        elif allowed:
            expected = 201 if name == "flag" else 200
        else:
            expected = 403
        assert response.status_code == expected, (name, role, response.json)
        assert bool(action["effect"](db, ctx)) == allowed, (name, role)


def test_suspended_moderator_cannot_moderate(make, db, client, login, token_for):
    world = World(make, db)
    mod = make.user("sleepy", role="moderator")
    mod.suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    thread, _ = world.fresh()
    login(mod)
    assert client.get("/moderation").status_code == 403
    assert client.post(f"/moderation/threads/{thread.id}/lock", data={"locked": "1"}).status_code == 403
    headers = token_for(mod)
    assert client.post(f"/api/v1/threads/{thread.id}/lock", json={"locked": True},
                       headers=headers).status_code == 403
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    assert not reload(db, Thread, thread.id).locked


def test_moderator_cannot_suspend_staff_but_admin_can(make, db, client, token_for):
    mod = make.user("mod", role="moderator")
    admin = make.user("boss", role="admin")
    agent = make.user("agent", role="agent")
    body = {"reason": "Testing limits", "until": UNTIL}
    assert client.post(f"/api/v1/users/{agent.username}/suspend", json=body,
                       headers=token_for(mod)).status_code == 403
    assert client.post(f"/api/v1/users/{mod.username}/suspend", json=body,
                       headers=token_for(mod)).status_code == 403
    g.pop("api_user", None)  # the test app context outlives requests; forget the last caller
    assert client.post(f"/api/v1/users/{agent.username}/suspend", json=body,
                       headers=token_for(admin)).status_code == 200
    assert reload(db, User, agent.id).is_suspended
