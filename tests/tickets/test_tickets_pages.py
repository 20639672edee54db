"""Ticket pages and the API as people use them: privacy of internal notes, the banner,
the queue's filters, the ticket page's controls, and 400s naming the field."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from tests.tickets.support import escalated

from community.extensions import db as _db
from community.models import Post, Ticket, utcnow
from community.services.tickets import escalation, workflow

NOTE = "INTERNAL-NOTE-7731"


def _world(make):
    ticket, thread, customer, moderator = escalated(make, note=NOTE)
    agent = make.user("agent", role="agent")
    workflow.add_note(agent, ticket, NOTE + " second")
    workflow.add_public_reply(agent, ticket, "Official: please reinstall the driver.")
    _db.session.commit()
    return ticket, thread, customer, moderator, agent


def test_internal_notes_never_reach_customers_or_public_pages(client, login, make):
    ticket, thread, customer, moderator, agent = _world(make)
    url = f"/threads/{thread.id}/{thread.slug}"
    pages = {}
    client.post("/logout")
    pages["thread anonymous"] = client.get(url)
    pages["profile anonymous"] = client.get(f"/users/{customer.username}")
    pages["api thread"] = client.get(f"/api/v1/threads/{thread.id}")
    login(customer)
    pages["thread customer"] = client.get(url)
    pages["profile customer"] = client.get(f"/users/{customer.username}")
    pages["my tickets"] = client.get("/my/tickets")
    pages["my ticket"] = client.get(f"/my/tickets/{ticket.id}")
    pages["notifications"] = client.get("/notifications")
    login(make.user("stranger"))
    pages["profile other"] = client.get(f"/users/{customer.username}")
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert NOTE not in response.get_data(as_text=True), name
    # what the customer does see
    assert "Official: please reinstall the driver." in pages["my ticket"].get_data(as_text=True)
    assert f"#{ticket.id}" in pages["profile customer"].get_data(as_text=True)
    assert "Your support tickets" not in pages["profile other"].get_data(as_text=True)
    assert "Your support tickets" not in pages["profile anonymous"].get_data(as_text=True)
    # staff do see the notes
    login(moderator)
    assert NOTE in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)


def test_thread_banner_and_official_response(client, login, make):
    ticket, thread, customer, moderator, agent = _world(make)
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Escalated to support" in page and "ticket-status-open" in page
    assert "Official response from support" in page
    assert "Escalate to support" not in page  # anonymous: no form
    assert f"/tickets/{ticket.id}" not in page  # no staff link for the public
    login(customer)
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert f"/my/tickets/{ticket.id}" in page
    workflow.update(agent, ticket, status="solved")
    _db.session.commit()
    assert "ticket-status-solved" in client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)


def test_thread_banner_is_one_query(app, client, make, db):
    from sqlalchemy import event

    ticket, thread, *_ = _world(make)
    seen = []
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        client.get(f"/threads/{thread.id}/{thread.slug}")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len([s for s in seen if "FROM tickets" in s]) == 1


def test_escalate_form_on_thread_for_moderators(client, login, make):
    moderator = make.user("mod", role="moderator")
    thread = make.thread()
    login(moderator)
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Escalate to support" in page
    response = client.post(f"/threads/{thread.id}/escalate", data={"priority": "urgent", "note": "vip"})
    ticket = _db.session.execute(select(Ticket)).scalar_one()
    assert response.headers["Location"].endswith(f"/tickets/{ticket.id}")
    assert ticket.priority == "urgent"
    again = client.post(f"/threads/{thread.id}/escalate", data={"priority": "urgent"}, follow_redirects=True)
    assert "already escalated" in again.get_data(as_text=True)
    assert len(_db.session.execute(select(Ticket)).all()) == 1


def test_queue_filters_and_assign_to_me(app, client, login, make):
    agent = make.user("agent", role="agent")
    moderator = make.user("mod", role="moderator")
    cat_a, cat_b = make.category("Billing"), make.category("Devices")
    t1 = escalation.escalate(make.thread(category=cat_a, title="Billing question one here"), moderator, "urgent")
    t2 = escalation.escalate(make.thread(category=cat_b, title="Device question two here"), moderator, "low")
    t3 = escalation.escalate(make.thread(category=cat_b, title="Device question three here"), moderator, "normal")
    t3.created_at = utcnow() - timedelta(hours=30)
    t2.status = "solved"
    _db.session.commit()
    login(agent)

    def listed(**args):
        page = client.get("/tickets", query_string=args).get_data(as_text=True)
        return {t.id for t in (t1, t2, t3) if f"<strong>#{t.id}</strong>" in page}

    assert listed() == {t1.id, t3.id}  # default: open and pending
    assert listed(status="all") == {t1.id, t2.id, t3.id}
    assert listed(status="solved") == {t2.id}
    assert listed(priority="urgent") == {t1.id}
    assert listed(category=cat_b.id, status="all") == {t2.id, t3.id}
    assert listed(age="over_target") == {t3.id}
    assert listed(age="1d") == {t3.id}
    page = client.get("/tickets").get_data(as_text=True)
    assert "Over target" in page and "Assign to me" in page
    assert page.index(f"<strong>#{t1.id}</strong>") < page.index(f"<strong>#{t3.id}</strong>")  # urgent first
    client.post(f"/tickets/{t3.id}/assign-me", data={"next": "queue"})
    assert _db.session.get(Ticket, t3.id).assignee_id == agent.id
    assert listed(assignee="me") == {t3.id}
    assert listed(assignee="none") == {t1.id}
    assert listed(assignee="agent") == {t3.id}
    bad = client.get("/tickets?status=whatever")
    assert bad.status_code == 400 and "Status must be one of" in bad.get_data(as_text=True)
    app.config["TICKET_RESPONSE_TARGET_HOURS"] = 48
    assert listed(age="over_target") == set()


def test_ticket_page_controls_and_errors(client, login, make):
    ticket, thread, customer, moderator, agent = _world(make)
    login(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    for text in ("Context when escalated", "Public reply", "Internal note", "When solving, mark as the accepted answer",
                 thread.question_post.body, "Community suggestion number 0"):
        assert text in page, text
    response = client.post(f"/tickets/{ticket.id}/update", data={"status": "bogus"})
    assert response.status_code == 400 and "Status must be one of" in response.get_data(as_text=True)
    official = _db.session.execute(select(Post).where(Post.is_official.is_(True))).scalar_one()
    response = client.post(f"/tickets/{ticket.id}/update",
                           data={"status": "solved", "priority": "normal", "assignee": "agent",
                                 "accept_post_id": str(official.id)})
    assert response.status_code == 302
    _db.session.refresh(thread)
    assert thread.accepted_post_id == official.id
    assert _db.session.get(Ticket, ticket.id).assignee_id == agent.id
    empty = client.post(f"/tickets/{ticket.id}/note", data={"body": ""})
    assert empty.status_code == 400
    # moderators read the ticket but get no controls
    login(moderator)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Post official response" not in page and "only agents and admins can change it" in page


def test_unresolved_page_lists_and_escalates(client, login, make):
    thread = make.thread(title="Printer prints only blank pages")
    thread.created_at = utcnow() - timedelta(hours=40)
    _db.session.commit()
    login(make.user("agent", role="agent"))
    page = client.get("/tickets/unresolved?sort=views").get_data(as_text=True)
    assert "Printer prints only blank pages" in page and "No reply" in page
    client.post(f"/threads/{thread.id}/escalate", data={"priority": "high"})
    assert "Printer prints only blank pages" not in client.get("/tickets/unresolved").get_data(as_text=True)


def test_api_validation_errors_name_the_field(client, token_for, make):
    ticket, thread, customer, moderator, agent = _world(make)
    headers = token_for(agent)
    url = f"/api/v1/tickets/{ticket.id}"
    for body, field in (({"status": "done"}, "status"), ({"priority": "asap"}, "priority"),
                        ({"assignee": "customer"}, "assignee"), ({"assignee": "ghost"}, "assignee"),
                        ({"status": 3}, "status"), ({"colour": "red"}, "colour")):
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["field"] == field, body
    client.patch(url, json={"status": "closed"}, headers=headers)
    bad = client.patch(url, json={"status": "pending"}, headers=headers)  # closed -> pending not allowed
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "status"
    reply = client.post(f"{url}/replies", json={"body": ""}, headers=headers)
    assert reply.status_code == 400 and reply.get_json()["error"]["field"] == "body"
    esc = client.post(f"/api/v1/threads/{thread.id}/escalate", json={"priority": "meh"},
                      headers=token_for(moderator))
    assert esc.status_code == 400 and esc.get_json()["error"]["field"] == "priority"
    assert client.get("/api/v1/tickets?status=nope", headers=headers).get_json()["error"]["field"] == "status"
    assert client.get("/api/v1/tickets/99999", headers=headers).status_code == 404


def test_api_round_trip(client, token_for, make):
    customer = make.user("customer")
    thread = make.thread(author=customer)
    moderator = make.user("mod", role="moderator")
    agent = make.user("agent", role="agent")
    created = client.post(f"/api/v1/threads/{thread.id}/escalate", json={"priority": "high", "note": "n1"},
                          headers=token_for(moderator))
    assert created.status_code == 201
    data = created.get_json()["ticket"]
    assert data["thread_id"] == thread.id and data["status"] == "open" and data["priority"] == "high"
    assert data["context"]["question"]["body"] == thread.question_post.body
    again = client.post(f"/api/v1/threads/{thread.id}/escalate", json={}, headers=token_for(moderator))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    h = token_for(agent)
    patched = client.patch(f"/api/v1/tickets/{data['id']}", json={"assignee": "agent", "status": "pending"},
                           headers=h).get_json()
    assert patched.get("assignee") == "agent" and patched["status"] == "pending", patched
    reply = client.post(f"/api/v1/tickets/{data['id']}/replies", json={"body": "Here is the fix", "public": True},
                        headers=h)
    assert reply.status_code == 201 and reply.get_json()["post_id"]
    thread_json = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert [p["official"] for p in thread_json["posts"]].count(True) == 1
    listing = client.get("/api/v1/tickets?assignee=me&status=pending", headers=h).get_json()
    assert [t["id"] for t in listing["tickets"]] == [data["id"]] and listing["total"] == 1
    full = client.get(f"/api/v1/tickets/{data['id']}", headers=h).get_json()
    assert [e["kind"] for e in full["events"]] == ["created", "note", "assignee", "status", "reply"]
    solved = client.patch(f"/api/v1/tickets/{data['id']}",
                          json={"status": "solved", "accept_post_id": reply.get_json()["post_id"]}, headers=h)
    assert solved.status_code == 200 and solved.get_json()["solved_at"]
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["solved"] is True


def test_openapi_documents_ticket_endpoints(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert "post" in paths["/api/v1/threads/{thread_id}/escalate"]
    assert "409" in paths["/api/v1/threads/{thread_id}/escalate"]["post"]["responses"]
    assert {"get", "patch"} <= set(paths["/api/v1/tickets/{ticket_id}"])
    assert "post" in paths["/api/v1/tickets/{ticket_id}/replies"]
    assert "Ticket" in doc["components"]["schemas"]


def test_contact_ticket_pages(client, login, make):
    """Tickets from the Contact support page (no thread): staff page, customer view, replies."""
    from community.models import AskSession

    customer = make.user("customer")
    agent = make.user("agent", role="agent")
    _db.session.add(AskSession(id="contact1", visitor_id="v", user_id=customer.id, page="contact"))
    _db.session.flush()
    ticket = workflow.open_ticket(source="contact", subject="Cannot download my invoice",
                                 body="The **download** button does nothing.", requester=customer,
                                 requester_name="customer", requester_email="customer@example.com",
                                 ask_session_id="contact1",
                                 context={"queries": ["invoice download"], "opened": ["thread:1"]})
    _db.session.commit()
    assert ticket.context["search_queries"] == ["invoice download"]
    login(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "<strong>download</strong>" in page and "invoice download" in page
    assert "Contact support request" in page and "customer<wbr>@example.com" in page  # breaks only at @
    client.post(f"/tickets/{ticket.id}/reply", data={"body": "Fixed: try again please."})
    client.post(f"/tickets/{ticket.id}/note", data={"body": NOTE})
    login(customer)
    mine = client.get(f"/my/tickets/{ticket.id}").get_data(as_text=True)
    assert "Fixed: try again please." in mine and NOTE not in mine


def test_queue_page_queries_do_not_grow_with_tickets(client, login, make, db, token_for):
    from sqlalchemy import event

    agent = make.user("agent", role="agent")
    moderator = make.user("mod", role="moderator")

    n_total = [0]

    def statements_for(n):
        for _ in range(n):
            t = escalation.escalate(make.thread(), moderator, "high")
            workflow.update(agent, t, assignee=agent)
        _db.session.commit()
        login(agent)
        headers = token_for(agent)
        seen = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/tickets").status_code == 200
            listing = client.get("/api/v1/tickets", headers=headers)
            assert listing.status_code == 200 and listing.get_json()["total"] == n_total[0] + n
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        n_total[0] += n
        return len(seen)

    assert statements_for(2) == statements_for(10)
