"""Opening official support tickets.  Callers check permissions and commit."""
from __future__ import annotations

from ..extensions import db
from ..models import Ticket, TicketEvent, User
from ..models.tickets import TICKET_PRIORITIES
from .errors import ValidationError

__all__ = ["open_ticket"]


def open_ticket(*, source: str, subject: str, body: str = "", requester: User | None = None,
                requester_name: str | None = None, requester_email: str | None = None,
                thread_id: int | None = None, ask_session_id: str | None = None,
                priority: str = "normal", created_by: User | None = None,
                context: dict | None = None, note: str | None = None) -> Ticket:
    """Create a ticket with its context snapshot and a ``created`` timeline event."""
    if priority not in TICKET_PRIORITIES:
        raise ValidationError(f"Priority must be one of: {', '.join(TICKET_PRIORITIES)}.",
                              field="priority")
    ticket = Ticket(
        source=source, subject=subject[:200], body=body, requester=requester,
        requester_name=requester_name, requester_email=requester_email, thread_id=thread_id,
        ask_session_id=ask_session_id, priority=priority,
        created_by_id=created_by.id if created_by else None, context=context or {},
    )
    db.session.add(ticket)
    db.session.flush()
    actor_id = created_by.id if created_by else (requester.id if requester else None)
    db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=actor_id, kind="created",
                               new_value="open"))
    if note:
        db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=actor_id, kind="note",
                                   public=False, body=note))
    db.session.flush()
    return ticket
