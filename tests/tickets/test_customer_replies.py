"""Two-way tickets: the customer reads their request and every public reply, and writes back."""
from __future__ import annotations

import re

from sqlalchemy import select

from community.extensions import db
from community.models import Notification, TicketEvent
from community.services.tickets import contact, workflow


def _contact_ticket(make):
    customer = make.user("custy")
    agent = make.user("agenta", role="agent")
    ticket = contact.submit(subject="Invoice shows the wrong VAT number",
                            body="My **invoice** for March shows VAT number 123; ours is 456.", user=customer)
    db.session.commit()
    return ticket, customer, agent


def _events(ticket):
    return [(e.kind, e.old_value, e.new_value) for e in db.session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).scalars()]


def test_customer_sees_request_public_replies_and_not_notes(client, login, make):
    ticket, customer, agent = _contact_ticket(make)
    workflow.add_public_reply(agent, ticket, "Thanks, which invoice number is it?")
    workflow.add_note(agent, ticket, "Secret: check the billing export")
    db.session.commit()
    login(customer)
    html = client.get(f"/my/tickets/{ticket.id}").get_data(as_text=True)
    assert "<strong>invoice</strong> for March shows VAT number 123" in html
    assert "Thanks, which invoice number is it?" in html
    assert "Secret" not in html
    assert 'action="/my/tickets/%d/reply"' % ticket.id in html


def test_reply_on_pending_ticket_reopens_it_and_notifies_assignee(client, login, make):
    ticket, customer, agent = _contact_ticket(make)
    workflow.update(agent, ticket, status="pending", assignee=agent.username)
    db.session.commit()
    login(customer)
    response = client.post(f"/my/tickets/{ticket.id}/reply", data={"body": "It is invoice INV-2031."})
    assert response.status_code == 302
    db.session.refresh(ticket)
    assert ticket.status == "open"
    assert _events(ticket)[-2:] == [("customer_reply", None, None), ("status", "pending", "open")]
    notes = db.session.execute(select(Notification).where(Notification.user_id == agent.id)).scalars().all()
    assert [n.kind for n in notes] == ["ticket_customer_reply"]
    assert notes[0].url == f"/tickets/{ticket.id}"
    html = client.get(f"/my/tickets/{ticket.id}").get_data(as_text=True)
    assert "It is invoice INV-2031." in html and re.search(r"<strong>You</strong> wrote back", html)
    login(agent)
    assert "It is invoice INV-2031." in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)


def test_reply_on_open_ticket_keeps_status(client, login, make):
    ticket, customer, agent = _contact_ticket(make)
    login(customer)
    client.post(f"/my/tickets/{ticket.id}/reply", data={"body": "One more detail: it started in March."})
    db.session.refresh(ticket)
    assert ticket.status == "open" and [k for k, *_ in _events(ticket)] == ["created", "customer_reply"]


def test_double_submit_is_kept_once(client, login, make):
    ticket, customer, agent = _contact_ticket(make)
    login(customer)
    for _ in range(3):
        assert client.post(f"/my/tickets/{ticket.id}/reply", data={"body": "Same words."}).status_code == 302
    assert [k for k, *_ in _events(ticket)].count("customer_reply") == 1


def test_closed_ticket_refuses_replies_with_a_way_on(client, login, make):
    ticket, customer, agent = _contact_ticket(make)
    workflow.update(agent, ticket, status="closed")
    db.session.commit()
    login(customer)
    page = client.get(f"/my/tickets/{ticket.id}").get_data(as_text=True)
    assert "This ticket is closed" in page and 'name="body"' not in page
    response = client.post(f"/my/tickets/{ticket.id}/reply", data={"body": "Hello again?"})
    assert response.status_code == 409
    assert "customer_reply" not in [k for k, *_ in _events(ticket)]


def test_empty_reply_is_a_400_with_the_message_in_the_form(client, login, make):
    ticket, customer, agent = _contact_ticket(make)
    login(customer)
    response = client.post(f"/my/tickets/{ticket.id}/reply", data={"body": " "})
    assert response.status_code == 400
    assert 'id="body-error"' in response.get_data(as_text=True)


def test_nobody_else_reads_or_replies(client, login, make):
    ticket, customer, agent = _contact_ticket(make)
    login(make.user("nosy"))
    assert client.get(f"/my/tickets/{ticket.id}").status_code == 404
    assert client.post(f"/my/tickets/{ticket.id}/reply", data={"body": "Let me in"}).status_code == 404
    client.post("/logout")
    assert client.post(f"/my/tickets/{ticket.id}/reply", data={"body": "Anon"}).status_code == 302  # to log in
    assert "customer_reply" not in [k for k, *_ in _events(ticket)]


def test_my_tickets_is_in_the_user_menu(client, login, make):
    login(make.user("menuuser"))
    assert '<a href="/my/tickets">My tickets</a>' in client.get("/").get_data(as_text=True)
