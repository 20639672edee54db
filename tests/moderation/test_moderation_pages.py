"""Moderation as people see it: hidden content per role, the queue, the audit log, tools, limits."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from community.models import AuditEntry, Flag, Thread, utcnow
from community.services.moderation import actions as moderation_actions
from community.services.moderation import flags, suspensions

ROLES = ("anonymous", "member", "author", "suspended", "moderator", "agent", "product", "admin")
SEES_HIDDEN = {"moderator", "agent", "admin"}  # permissions.can_view_hidden_posts


def as_role(role, make, db, login, thread):
    if role == "anonymous":
        return None
    if role == "author":
        user = thread.author
    else:
        user = make.user(role if role != "suspended" else "suspended1",
                         role=role if role in ("moderator", "agent", "product", "admin") else "member",
                         reputation=30)
        if role == "suspended":
            user.suspended_until = utcnow() + timedelta(days=2)
            db.session.commit()
    login(user)
    return user


@pytest.mark.parametrize("role", ROLES)
def test_hidden_reply_visible_only_to_staff(role, make, db, client, login, token_for):
    mod = make.user("mod", role="moderator")
    thread = make.thread(title="Printer shows error 42 after update")
    make.reply(thread, body="Visible answer: reinstall the driver.")
    hidden = make.reply(thread, body="BUY CHEAP WATCHES at spam dot example")
    moderation_actions.hide_post(mod, hidden, "Advertising")
    db.session.commit()
    user = as_role(role, make, db, login, thread)
    page = client.get(f"/threads/{thread.id}/{thread.slug}")
    assert page.status_code == 200
    assert b"Visible answer" in page.data
    sees = role in SEES_HIDDEN
    assert (b"BUY CHEAP WATCHES" in page.data) == sees
    assert (b"Advertising" in page.data) == sees
    # The answer count members see leaves the hidden one out.
    assert b"1 answer" in page.data
    # API
    g.pop("api_user", None)
    headers = token_for(user) if user else {}
    data = client.get(f"/api/v1/threads/{thread.id}", headers=headers).json
    bodies = [p["body"] for p in data["posts"]]
    assert any("Visible answer" in b for b in bodies)
    assert any("CHEAP WATCHES" in b for b in bodies) == sees
    assert [p["hidden"] for p in data["posts"] if "CHEAP WATCHES" in p["body"]] == ([True] if sees else [])


@pytest.mark.parametrize("role", ROLES)
def test_hidden_thread_visibility(role, make, db, client, login, token_for):
    mod = make.user("mod", role="moderator")
    category = make.category("Printers")
    thread = make.thread(title="Spammy thread about cheap watches", category=category)
    make.thread(title="A genuine printer question here", category=category)
    moderation_actions.hide_thread(mod, thread, "Spam")
    db.session.commit()
    user = as_role(role, make, db, login, thread)
    sees = role in SEES_HIDDEN or role == "author"  # permissions.can_view_thread
    page = client.get(f"/threads/{thread.id}/{thread.slug}")
    assert page.status_code == (200 if sees else 404)
    if sees:
        assert b"This thread is hidden" in page.data
    # Listings never show hidden threads, whoever looks.
    for url in ("/", f"/categories/{category.slug}"):
        listing = client.get(url)
        assert b"A genuine printer question" in listing.data
        assert b"Spammy thread" not in listing.data
    g.pop("api_user", None)
    headers = token_for(user) if user else {}
    assert client.get(f"/api/v1/threads/{thread.id}", headers=headers).status_code == (200 if sees else 404)
    moderation_actions.restore_thread(mod, thread)
    db.session.commit()
    assert b"Spammy thread" in client.get(f"/categories/{category.slug}").data


def test_flag_form_and_queue_page(make, db, client, login, app):
    app.config["FLAGS_TO_HIDE"] = 2
    thread = make.thread(title="Router keeps dropping the connection")
    reply = make.reply(thread, body="Visit my shop for routers www.shop.example")
    low = make.user("lowrep")
    login(low)
    page = client.get(f"/threads/{thread.id}/{thread.slug}")
    assert b"Send flag" not in page.data  # below the privilege
    assert client.post(f"/moderation/posts/{reply.id}/flag", data={"reason": "spam"}).status_code == 403
    flagger = make.user("flagger", reputation=30)
    login(flagger)
    page = client.get(f"/threads/{thread.id}/{thread.slug}")
    assert b"Send flag" in page.data and b'value="needs_moderator"' in page.data
    response = client.post(f"/moderation/posts/{reply.id}/flag",
                           data={"reason": "spam", "note": "selling routers"}, follow_redirects=True)
    assert b"your flag was sent" in response.data
    assert b"\xe2\x9a\x91 Flagged" in response.data  # the form became a marker
    again = client.post(f"/moderation/posts/{reply.id}/flag", data={"reason": "spam"},
                        follow_redirects=True)
    assert b"already flagged" in again.data
    bad = client.post(f"/moderation/posts/{reply.id}/flag", data={"reason": "ugly"}, follow_redirects=True)
    assert b"Choose a reason" in bad.data
    second = make.user("second", reputation=30)
    login(second)
    client.post(f"/moderation/posts/{reply.id}/flag", data={"reason": "offensive"})
    db.session.expire_all()
    assert db.session.get(type(reply), reply.id).hidden  # 2 distinct members

    mod = make.user("mod", role="moderator")
    login(mod)
    queue = client.get("/moderation")
    assert queue.status_code == 200
    assert b"Router keeps dropping" in queue.data and b"selling routers" in queue.data
    assert b"Spam \xc3\x97 1" in queue.data and b"Rude or offensive \xc3\x97 1" in queue.data
    assert b"Restore post" in queue.data and b"Keep hidden" in queue.data
    thread_page = client.get(f"/threads/{thread.id}/{thread.slug}")
    assert b"2 open flags" in thread_page.data and b"Moderator tools" in thread_page.data
    response = client.post(f"/moderation/posts/{reply.id}/resolve", data={"outcome": "hidden"},
                           follow_redirects=True)
    assert b"Flags resolved: hidden" in response.data
    assert b"Nothing to review" in response.data and b"Recently resolved" in response.data


def test_thread_tools_move_merge_via_pages(make, db, client, login):
    mod = make.user("mod", role="moderator")
    other = make.category("Billing")
    a = make.thread(title="Charged twice for my subscription")
    b = make.thread(title="Double charge on my credit card")
    login(mod)
    page = client.get(f"/threads/{a.id}/{a.slug}")
    assert b"Moderator tools" in page.data and b"Billing" in page.data
    client.post(f"/moderation/threads/{a.id}/move", data={"category_id": other.id})
    assert db.session.get(Thread, a.id).category_id == other.id
    bad = client.post(f"/moderation/threads/{a.id}/merge", data={"target": "nonsense"},
                      follow_redirects=True)
    assert b"Give the number or the address" in bad.data
    response = client.post(f"/moderation/threads/{a.id}/merge",
                           data={"target": f"http://localhost/threads/{b.id}/double"})
    assert response.status_code == 302 and f"/threads/{b.id}/" in response.headers["Location"]
    assert client.get(f"/threads/{a.id}").status_code == 301


def test_members_see_no_tools(make, db, client, login):
    thread = make.thread()
    make.reply(thread)
    login(make.user(reputation=30))
    page = client.get(f"/threads/{thread.id}/{thread.slug}")
    assert b"Moderator tools" not in page.data and b"Hide post" not in page.data
    assert b"Moderation" not in client.get("/").data.split(b"</nav>")[0]


def test_audit_log_page_filters(make, db, client, login):
    mod = make.user("mod", role="moderator")
    admin = make.user("boss", role="admin")
    t1, t2 = make.thread(), make.thread()
    moderation_actions.set_locked(mod, t1, True)
    moderation_actions.set_pinned(admin, t2, True)
    victim = make.user("victim")
    suspensions.suspend(mod, victim, "Spamming links", (utcnow() + timedelta(days=3)).date().isoformat())
    db.session.commit()
    login(admin)
    page = client.get("/moderation/audit")
    assert page.status_code == 200
    for text in (b"thread.lock", b"thread.pin", b"user.suspend", b"Spamming links"):
        assert text in page.data
    only_mod = client.get("/moderation/audit?actor=mod").data
    assert b"thread.lock" in only_mod and b"<code>thread.pin</code>" not in only_mod
    only_pin = client.get("/moderation/audit?action=thread.pin").data
    assert b"<code>thread.pin</code>" in only_pin and b"<code>thread.lock</code>" not in only_pin
    prefix = client.get("/moderation/audit?action=thread.").data
    assert b"<code>thread.pin</code>" in prefix and b"<code>user.suspend</code>" not in prefix
    users_only = client.get("/moderation/audit?target_type=user").data
    assert b"<code>user.suspend</code>" in users_only and b"<code>thread.lock</code>" not in users_only
    assert b"/users/victim" in users_only  # the target links to the profile
    today = utcnow().date()
    assert b"thread.lock" in client.get(f"/moderation/audit?since={today}&until={today}").data
    old = client.get(f"/moderation/audit?until={today - timedelta(days=2)}").data
    assert b"No entries match" in old
    bad = client.get("/moderation/audit?since=yesterday")
    assert bad.status_code == 400 and b"Dates look like" in bad.data


def test_audit_api_filters(make, db, client, token_for):
    mod = make.user("mod", role="moderator")
    thread = make.thread()
    moderation_actions.set_locked(mod, thread, True)
    db.session.commit()
    headers = token_for(mod)
    data = client.get(f"/api/v1/audit?target_type=thread&target_id={thread.id}", headers=headers).json
    assert [e["action"] for e in data["entries"]] == ["thread.lock"]
    assert data["entries"][0]["before"]["locked"] is False and data["entries"][0]["actor"] == "mod"
    bad = client.get("/api/v1/audit?target_type=planet", headers=headers)
    assert bad.status_code == 400 and bad.json["error"]["field"] == "target_type"


def test_profile_suspend_form_and_suspended_user_cannot_write(make, db, client, login, token_for):
    mod = make.user("mod", role="moderator")
    member = make.user("member1", reputation=30)
    thread = make.thread()
    login(mod)
    profile = client.get("/users/member1")
    assert b"Reason for suspending" in profile.data
    bad = client.post("/moderation/users/member1/suspend", data={"reason": "Spam", "until": "2000-01-01"},
                      follow_redirects=True)
    assert b"must be in the future" in bad.data
    until = (utcnow() + timedelta(days=3)).date().isoformat()
    client.post("/moderation/users/member1/suspend", data={"reason": "Posting spam", "until": until})
    assert b"Reinstate now" in client.get("/users/member1").data
    # The suspended member can read but not write, on pages and in the API.
    login(member)
    assert client.get(f"/threads/{thread.id}/{thread.slug}").status_code == 200
    assert client.post(f"/threads/{thread.id}/reply", data={"body": "Trying to answer"}).status_code == 403
    assert client.post("/ask", data={"title": "A question while suspended", "body": "x" * 30,
                                     "category_id": thread.category_id}).status_code == 403
    g.pop("api_user", None)
    headers = token_for(member)
    response = client.post(f"/api/v1/threads/{thread.id}/posts", json={"body": "API answer"}, headers=headers)
    assert response.status_code == 403 and "suspended" in response.json["error"]["message"]
    assert client.post(f"/api/v1/posts/{thread.question_post_id}/flag", json={"reason": "spam"},
                       headers=headers).status_code == 403
    # Other members see no suspend form; moderators don't see it on staff profiles.
    assert b"Reason for suspending" not in client.get("/users/mod").data
    login(mod)
    assert b"Reason for suspending" not in client.get("/users/mod").data
    client.post("/moderation/users/member1/reinstate", data={})
    login(member)
    assert client.post(f"/threads/{thread.id}/reply", data={"body": "Back and answering"}).status_code == 302


def test_spam_limits_on_pages_and_api(make, db, client, login, token_for, app):
    app.config.update(NEW_ACCOUNT_LINKS_PER_POST=1, NEW_ACCOUNT_POSTS_PER_HOUR=2, RATELIMIT_ENABLED=True,
                      POST_RATE_LIMIT=None, LOGIN_RATE_LIMIT=None)
    thread = make.thread()
    newbie = make.user("newbie")
    login(newbie)
    links = "Look at https://one.example and https://two.example now"
    page = client.post(f"/threads/{thread.id}/reply", data={"body": links}, follow_redirects=True)
    assert page.status_code == 400 and b"at most 1 link per post" in page.data
    ask = client.post("/ask", data={"title": "Question with two links", "body": links,
                                    "category_id": thread.category_id})
    assert ask.status_code == 400 and b"at most 1 link per post" in ask.data
    g.pop("api_user", None)
    headers = token_for(newbie)
    api = client.post(f"/api/v1/threads/{thread.id}/posts", json={"body": links}, headers=headers)
    assert api.status_code == 400 and api.json["error"]["field"] == "body"
    for n in range(2):
        assert client.post(f"/api/v1/threads/{thread.id}/posts", json={"body": f"Answer {n} here"},
                           headers=headers).status_code == 201
    over = client.post(f"/api/v1/threads/{thread.id}/posts", json={"body": "Third one"}, headers=headers)
    assert over.status_code == 429 and "per hour" in over.json["error"]["message"]


def test_api_errors_for_moderation_endpoints(make, db, client, token_for):
    mod = make.user("mod", role="moderator")
    headers = token_for(mod)
    thread = make.thread()
    reply = make.reply(thread)
    r = client.post(f"/api/v1/threads/{thread.id}/lock", json={"locked": "yes"}, headers=headers)
    assert r.status_code == 400 and r.json["error"]["field"] == "locked"
    r = client.post(f"/api/v1/threads/{thread.id}/lock", json={}, headers=headers)
    assert r.status_code == 400 and r.json["error"]["field"] == "locked"
    assert client.post("/api/v1/threads/9999/lock", json={"locked": True}, headers=headers).status_code == 404
    r = client.post(f"/api/v1/threads/{thread.id}/move", json={"category_id": 9999}, headers=headers)
    assert r.status_code == 400 and r.json["error"]["field"] == "category_id"
    r = client.post(f"/api/v1/posts/{reply.id}/hide", json={"hidden": True}, headers=headers)
    assert r.status_code == 400 and r.json["error"]["field"] == "reason"
    r = client.post(f"/api/v1/posts/{reply.id}/hide", json={"hidden": True, "reason": "Spam"}, headers=headers)
    assert r.status_code == 200 and r.json["hidden"] is True and r.json["hidden_reason"] == "Spam"
    assert client.post("/api/v1/posts/9999/hide", json={"hidden": True, "reason": "x"},
                       headers=headers).status_code == 404
    r = client.post(f"/api/v1/threads/{thread.id}/lock", json={"locked": True}, headers=headers)
    assert r.status_code == 200 and r.json["locked"] is True
    member = make.user("flagger", reputation=30)
    g.pop("api_user", None)
    mh = token_for(member)
    r = client.post(f"/api/v1/posts/{thread.question_post_id}/flag", json={"reason": "nope"}, headers=mh)
    assert r.status_code == 400 and r.json["error"]["field"] == "reason"
    r = client.post(f"/api/v1/posts/{thread.question_post_id}/flag",
                    json={"reason": "needs_moderator", "note": "Nobody answers"}, headers=mh)
    assert r.status_code == 201 and r.json["reason"] == "needs_moderator" and r.json["thread_id"] == thread.id
    r = client.post(f"/api/v1/posts/{thread.question_post_id}/flag", json={"reason": "spam"}, headers=mh)
    assert r.status_code == 409
    # A hidden post does not exist for a member.
    assert client.post(f"/api/v1/posts/{reply.id}/flag", json={"reason": "spam"}, headers=mh).status_code == 404
    g.pop("api_user", None)
    r = client.post(f"/api/v1/posts/{reply.id}/flags/resolve", json={"outcome": "hidden"}, headers=headers)
    assert r.status_code == 409  # no open flags on it
    queue = client.get("/api/v1/moderation/flags", headers=headers).json
    assert queue["total"] == 1 and queue["items"][0]["flags"][0]["note"] == "Nobody answers"
    doc = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/posts/{post_id}/flag", "/api/v1/threads/{thread_id}/lock",
                 "/api/v1/threads/{thread_id}/move", "/api/v1/posts/{post_id}/hide"):
        assert "post" in doc["paths"][path]
    assert "409" in doc["paths"]["/api/v1/posts/{post_id}/flag"]["post"]["responses"]


def test_every_moderation_action_is_audited(make, db, app):
    """One run through every action; each leaves an entry with before and after."""
    app.config["FLAGS_TO_HIDE"] = 1
    from community.services.moderation import merging

    mod = make.user("mod", role="moderator")
    a, b = make.thread(), make.thread()
    reply = make.reply(a)
    other = make.category("Other")
    victim = make.user("victim")
    moderation_actions.set_locked(mod, a, True)
    moderation_actions.set_pinned(mod, a, True)
    moderation_actions.move(mod, a, other.id)
    moderation_actions.hide_post(mod, reply, "Rude")
    moderation_actions.restore_post(mod, reply)
    moderation_actions.hide_thread(mod, a, "Spam")
    moderation_actions.restore_thread(mod, a)
    flags.flag_post(make.user(reputation=30), reply, "spam")  # auto-hides at 1
    flags.resolve(mod, reply, "restored")
    suspensions.suspend(mod, victim, "Abuse", (utcnow() + timedelta(days=1)).date().isoformat())
    suspensions.reinstate(mod, victim)
    merging.merge(mod, a, b.id)
    db.session.commit()
    entries = list(db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
    actions = [e.action for e in entries]
    for action in ("thread.lock", "thread.pin", "thread.move", "post.hide", "post.restore", "thread.hide",
                   "thread.restore", "post.auto_hide", "flag.resolve", "user.suspend", "user.reinstate",
                   "thread.merge"):
        assert action in actions
    for entry in entries:
        assert entry.before is not None and entry.after is not None and entry.before != entry.after, entry.action
    assert db.session.execute(select(Flag.outcome)).scalar() == "restored"
