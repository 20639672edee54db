"""Demo support tickets, so that an agent's queue shows the work it is for: a thread the community
could not solve escalated with its context, and requests from the contact form, one already
answered and waiting for the customer. Made through the same services as real ones."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Thread, Ticket, utcnow
from ..services.tickets import contact, escalation, workflow

#: The unsolved demo thread that only support can settle (a refund).
ESCALATED_TITLE = "Cancelled my trial but was still charged"


def seed_tickets(people: dict) -> int:
    """Open the demo tickets; returns how many were opened."""
    agent, alice = people["agent"], people["alice"]
    opened: list[tuple[Ticket, timedelta, timedelta | None]] = []  # (ticket, age, answered after)
    thread = db.session.execute(select(Thread).where(Thread.title == ESCALATED_TITLE)).scalar_one_or_none()
    if thread is not None:
        ticket = escalation.escalate(thread, agent, priority="high",
                                     note="Refunds need access to the billing system: the community cannot settle this one.")
        opened.append((ticket, timedelta(hours=5), None))
    invoice = contact.submit(
        subject="Our invoices still show our old company name",
        body="We renamed the company in March (Northwind Ltd → Northwind Group). The billing settings show the "
             "new name but every invoice PDF still has the old one, and our accountant needs them corrected.",
        user=alice)
    workflow.add_public_reply(agent, invoice, "Thanks! Which invoice numbers do you need reissued? "
                                              "We can correct every invoice since March at once.")
    workflow.update(agent, invoice, status="pending", assignee="agent")
    opened.append((invoice, timedelta(days=1, hours=3), timedelta(hours=4)))
    guest = contact.submit(subject="Two-factor codes from my old phone no longer arrive",
                           body="I replaced my phone and the authenticator app did not move over. I still have my "
                                "password but not the recovery codes. How can I get back into my account?",
                           name="Sam Rivera", email="sam.rivera@example.com")
    opened.append((guest, timedelta(minutes=40), None))
    _backdate(opened)
    return len(opened)


def _backdate(opened) -> None:
    """Spread the tickets over the last day, as a queue is: each timeline keeps its order."""
    now = utcnow()
    db.session.flush()
    for ticket, age, answered_after in opened:
        created = now - age
        for index, event in enumerate(ticket.events):  # opened first, then the agent's answer and status
            event.created_at = created if index == 0 or answered_after is None else created + answered_after
        ticket.created_at = created
        ticket.updated_at = created + (answered_after or timedelta())
        if ticket.first_response_at is not None and answered_after is not None:
            ticket.first_response_at = created + answered_after
    db.session.flush()
