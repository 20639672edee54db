"""Every role against every ticket action, in pages and in the API.

Roles: anonymous, member, the ticket's requester, moderator, agent, product, admin.
Decisions: moderators read tickets (queue, ticket page, API GET) and escalate but do
not change tickets; the requester reads the public view of their own ticket only
(/my/tickets/<id>, and GET /api/v1/tickets/<id>); everyone else gets 404 for a
specific ticket (ids reveal nothing) and 403 for the staff lists.
"""
from __future__ import annotations

import pytest

from community.extensions import db as _db
from community.services.tickets import escalation

ROLES = ("anonymous", "member", "requester", "moderator", "agent", "product", "admin")


@pytest.fixture()
def world(db, make):
    customer = make.user("customer")
    moderator = make.user("mod", role="moderator")
    users = {"member": make.user("member"), "requester": customer, "moderator": moderator,
             "agent": make.user("agent", role="agent"), "product": make.user("pmgr", role="product"),
             "admin": make.user("admin", role="admin")}
    thread = make.thread(author=customer)
    ticket = escalation.escalate(thread, moderator, "normal", "SECRET-NOTE")
    other = make.thread(author=customer, title="Another question that nobody has answered")
    _db.session.commit()
    return {"users": users, "ticket": ticket.id, "thread": thread.id, "other": other.id,
            "agent": users["agent"]}


def _page_as(client, login, world, role):
    client.post("/logout")
    if role != "anonymous":
        login(world["users"][role])


# (method, url template, form data, expected status by role)
OK_STAFF_READ = {"anonymous": 302, "member": 403, "requester": 403, "moderator": 200,
                 "agent": 200, "product": 403, "admin": 200}
OK_AGENT_WRITE = {"anonymous": 302, "member": 403, "requester": 403, "moderator": 403,
                  "agent": 302, "product": 403, "admin": 302}
PAGES = {
    "queue": ("GET", "/tickets", None, OK_STAFF_READ),
    "ticket": ("GET", "/tickets/{ticket}", None, OK_STAFF_READ),
    "unresolved": ("GET", "/tickets/unresolved", None, OK_STAFF_READ),
    "escalate": ("POST", "/threads/{other}/escalate", {"priority": "high", "note": "n"},
                 {**OK_AGENT_WRITE, "moderator": 302}),
    "update": ("POST", "/tickets/{ticket}/update", {"status": "pending", "priority": "high"}, OK_AGENT_WRITE),
    "note": ("POST", "/tickets/{ticket}/note", {"body": "internal thoughts"}, OK_AGENT_WRITE),
    "reply": ("POST", "/tickets/{ticket}/reply", {"body": "Official words here"}, OK_AGENT_WRITE),
    "assign_me": ("POST", "/tickets/{ticket}/assign-me", {}, OK_AGENT_WRITE),
    "webhook_log": ("GET", "/tickets/webhooks", None,
                    {**{r: 403 for r in ROLES}, "anonymous": 302, "admin": 200}),
    "my_tickets": ("GET", "/my/tickets", None, {**{r: 200 for r in ROLES}, "anonymous": 302}),
    "my_ticket": ("GET", "/my/tickets/{ticket}", None,
                  {**{r: 404 for r in ROLES}, "anonymous": 302, "requester": 200}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", PAGES)
def test_pages(client, login, world, role, action):
    method, url, data, expected = PAGES[action]
    _page_as(client, login, world, role)
    url = url.format(**world)
    response = client.get(url) if method == "GET" else client.post(url, data=data)
    assert response.status_code == expected[role], (action, role, response.status_code)
    if response.status_code == 302 and role == "anonymous":
        assert "/login" in response.headers["Location"]
    if response.status_code == 200:
        page = response.get_data(as_text=True)
        if action == "my_ticket" or action == "my_tickets":
            assert "SECRET-NOTE" not in page


API_STAFF_READ = {"anonymous": 401, "member": 403, "requester": 403, "moderator": 200,
                  "agent": 200, "product": 403, "admin": 200}
API_AGENT = {"anonymous": 401, "member": 403, "requester": 403, "moderator": 403,
             "agent": 200, "product": 403, "admin": 200}
API = {
    "escalate": ("POST", "/api/v1/threads/{other}/escalate", {"priority": "high", "note": "n"},
                 {**API_AGENT, "moderator": 201, "agent": 201, "admin": 201}),
    "list": ("GET", "/api/v1/tickets", None, API_STAFF_READ),
    "get": ("GET", "/api/v1/tickets/{ticket}", None,
            {**API_STAFF_READ, "member": 404, "product": 404, "requester": 200}),
    "patch": ("PATCH", "/api/v1/tickets/{ticket}", {"status": "pending"}, API_AGENT),
    "reply_public": ("POST", "/api/v1/tickets/{ticket}/replies", {"body": "We are on it", "public": True},
                     {**API_AGENT, "agent": 201, "admin": 201}),
    "reply_note": ("POST", "/api/v1/tickets/{ticket}/replies", {"body": "note", "public": False},
                   {**API_AGENT, "agent": 201, "admin": 201}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", API)
def test_api(client, token_for, world, role, action):
    method, url, data, expected = API[action]
    headers = {} if role == "anonymous" else token_for(world["users"][role])
    response = client.open(url.format(**world), method=method, json=data, headers=headers)
    assert response.status_code == expected[role], (action, role, response.get_json())
    body = response.get_json()
    if response.status_code >= 400:
        assert body["error"]["code"] and body["error"]["message"]
    if action == "get" and role == "requester":
        assert "context" not in body and "assignee" not in body
        assert "SECRET-NOTE" not in response.get_data(as_text=True)
        assert all(e["public"] for e in body["events"])
    if action == "get" and role in ("moderator", "agent", "admin"):
        assert "SECRET-NOTE" in [e["body"] for e in body["events"]]
        # emails only for those who work tickets
        assert ("email" in body["requester"]) == (role != "moderator")


def test_suspended_agent_is_refused(client, token_for, world, login):
    from datetime import timedelta

    from community.models import utcnow

    agent = world["agent"]
    agent.suspended_until = utcnow() + timedelta(days=1)
    _db.session.commit()
    headers = token_for(agent)
    assert client.patch(f"/api/v1/tickets/{world['ticket']}", json={"status": "pending"},
                        headers=headers).status_code == 403
    login(agent)
    assert client.post(f"/tickets/{world['ticket']}/update", data={"status": "pending"}).status_code == 403
