"""The customer's side of a ticket: replying to support on their own request.

A reply on a ticket that waits for the customer (pending) or that support
marked solved moves it back to open, and tells the assignee.  Callers check
``permissions.can_reply_own_ticket`` and commit.
"""
from __future__ import annotations

from sqlalchemy import select, update

from ...extensions import db
from ...markup import render_markdown
from ...models import Ticket, TicketEvent, User, utcnow
from .. import fanout
from ..errors import Conflict
from ..forum import threads
from . import webhooks
from .workflow import ticket_url

#: Statuses from which a customer's reply puts the ticket back in the agents' queue.
REOPENED_BY_REPLY = ("pending", "solved")


def reply(user: User, ticket: Ticket, body: str) -> TicketEvent:
    """Add the customer's reply; the same reply sent twice (a double submit) is kept once."""
    body = threads.clean_body(body, minimum=2)
    # The ticket row's write lock first, so that concurrent replies run one after
    # another and each sees what the previous one wrote (on SQLite and PostgreSQL).
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(updated_at=utcnow()))
    db.session.refresh(ticket)
    if ticket.status == "closed":
        raise Conflict("This ticket is closed. Contact support again and mention "
                       f"ticket #{ticket.id}.", field="body")
    last = db.session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.public.is_(True))
        .order_by(TicketEvent.id.desc()).limit(1)
    ).scalar()
    if last is not None and last.kind == "customer_reply" and last.actor_id == user.id and last.body == body:
        return last
    event = TicketEvent(ticket_id=ticket.id, actor_id=user.id, kind="customer_reply", public=True,
                        body=body, body_html=render_markdown(body))
    db.session.add(event)
    if ticket.status in REOPENED_BY_REPLY:
        db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=user.id, kind="status", public=True,
                                   old_value=ticket.status, new_value="open"))
        ticket.status = "open"
        ticket.solved_at = None
    db.session.flush()
    fanout.notify_later(ticket.assignee_id, "ticket_customer_reply",
                         f"{user.username} replied on ticket #{ticket.id} “{ticket.subject}”",
                         ticket_url(ticket, staff=True), actor_id=user.id)
    webhooks.enqueue(ticket, "ticket.updated")
    return event
