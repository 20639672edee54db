"""Tickets as plain data: the staff view (API, webhook) and the customer's public view.

The one place that decides which parts of a ticket a customer may see: the
public view never carries internal notes, the context snapshot, the assignee
or anyone's email address.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import Ticket, TicketEvent
from ...urls import absolute_url


def iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def timeline(ticket: Ticket, *, public_only: bool) -> list[TicketEvent]:
    """The ticket's events, oldest first, actors loaded in the same round trip."""
    stmt = (select(TicketEvent).options(selectinload(TicketEvent.actor))
            .where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
    if public_only:
        stmt = stmt.where(TicketEvent.public.is_(True))
    return list(db.session.execute(stmt).scalars())


def event_data(event: TicketEvent) -> dict:
    return {
        "id": event.id, "kind": event.kind, "public": event.public,
        "actor": event.actor.username if event.actor else None,
        "body": event.body, "old_value": event.old_value, "new_value": event.new_value,
        "post_id": event.post_id, "created_at": iso(event.created_at),
    }


def _thread_url(ticket: Ticket) -> str | None:
    if not ticket.thread_id:
        return None
    return absolute_url(f"/threads/{ticket.thread_id}")


def staff_view(ticket: Ticket, *, include_email: bool = False, events: bool = True) -> dict:
    """Everything agents work with.  ``include_email`` for agents and the webhook only."""
    requester = None
    if ticket.requester is not None:
        requester = {"username": ticket.requester.username}
        if include_email:
            requester["email"] = ticket.requester.email
    elif ticket.requester_name or ticket.requester_email:
        requester = {"name": ticket.requester_name}
        if include_email:
            requester["email"] = ticket.requester_email
    data = {
        "id": ticket.id, "source": ticket.source, "subject": ticket.subject, "body": ticket.body,
        "status": ticket.status, "priority": ticket.priority,
        "thread_id": ticket.thread_id, "thread_url": _thread_url(ticket),
        "requester": requester,
        "assignee": ticket.assignee.username if ticket.assignee else None,
        "ask_session_id": ticket.ask_session_id,
        "created_at": iso(ticket.created_at), "updated_at": iso(ticket.updated_at),
        "first_response_at": iso(ticket.first_response_at), "solved_at": iso(ticket.solved_at),
        "url": absolute_url(f"/tickets/{ticket.id}"),
        "context": ticket.context or {},
    }
    if events:
        data["events"] = [event_data(e) for e in timeline(ticket, public_only=False)]
    return data


def public_view(ticket: Ticket) -> dict:
    """What the requester sees of their own ticket."""
    return {
        "id": ticket.id, "subject": ticket.subject, "status": ticket.status,
        "thread_id": ticket.thread_id, "thread_url": _thread_url(ticket),
        "created_at": iso(ticket.created_at), "updated_at": iso(ticket.updated_at),
        "solved_at": iso(ticket.solved_at),
        "events": [event_data(e) for e in timeline(ticket, public_only=True)],
    }
