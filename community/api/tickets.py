"""Escalation and support tickets over JSON.

Who may do what:
- escalate: moderators, agents, admins;
- list tickets: moderators (read-only), agents, admins;
- get a ticket: moderators, agents, admins get the staff view (context snapshot,
  every event incl. internal notes; requester emails for agents/admins only);
  the ticket's requester gets the public view (no notes, no snapshot, no
  assignee); anyone else gets 404, so ticket ids reveal nothing;
- change a ticket, reply or add a note: agents and admins.
"""
from __future__ import annotations

from flask import jsonify

from .. import permissions
from ..extensions import db
from ..permissions import AGENTS, ESCALATORS  # noqa: E402
from ..services.errors import NotFound, PermissionDenied, ValidationError
from ..services.forum import threads
from ..services.tickets import escalation, payloads, workflow
from ..services.tickets import queue as tickets_queue
from .auth import api_user
from .body import field, int_arg, json_body
from .spec import endpoint, schema

_event = schema("TicketEvent", {"type": "object", "properties": {
    "id": {"type": "integer"}, "kind": {"type": "string",
                                        "enum": ["created", "status", "priority", "assignee",
                                                 "note", "reply", "accepted"]},
    "public": {"type": "boolean"}, "actor": {"type": "string", "nullable": True},
    "body": {"type": "string", "nullable": True}, "old_value": {"type": "string", "nullable": True},
    "new_value": {"type": "string", "nullable": True}, "post_id": {"type": "integer", "nullable": True},
    "created_at": {"type": "string", "format": "date-time"}}})
_status = {"type": "string", "enum": ["open", "pending", "solved", "closed"]}
_priority = {"type": "string", "enum": ["low", "normal", "high", "urgent"]}
TICKET = schema("Ticket", {"type": "object", "required": ["id", "status", "priority"], "properties": {
    "id": {"type": "integer"}, "source": {"type": "string", "enum": ["escalation", "contact"]},
    "subject": {"type": "string"}, "body": {"type": "string"}, "status": _status,
    "priority": _priority, "thread_id": {"type": "integer", "nullable": True},
    "thread_url": {"type": "string", "nullable": True},
    "requester": {"type": "object", "nullable": True},
    "assignee": {"type": "string", "nullable": True},
    "ask_session_id": {"type": "string", "nullable": True},
    "created_at": {"type": "string"}, "updated_at": {"type": "string"},
    "first_response_at": {"type": "string", "nullable": True},
    "solved_at": {"type": "string", "nullable": True}, "url": {"type": "string"},
    "context": {"type": "object", "description": "Snapshot taken when the ticket was opened: "
                "thread, author, category, tags, question, replies, search_queries."},
    "events": {"type": "array", "items": _event}}})
PUBLIC_TICKET = schema("TicketPublicView", {"type": "object", "required": ["id", "status"], "properties": {
    "id": {"type": "integer"}, "subject": {"type": "string"}, "status": _status,
    "thread_id": {"type": "integer", "nullable": True}, "thread_url": {"type": "string", "nullable": True},
    "created_at": {"type": "string"}, "updated_at": {"type": "string"},
    "solved_at": {"type": "string", "nullable": True},
    "events": {"type": "array", "items": _event}}})


def _staff_json(ticket, *, events: bool = True) -> dict:
    return payloads.staff_view(ticket, events=events,
                                      include_email=permissions.can_work_tickets(api_user()))


@endpoint("/threads/<int:thread_id>/escalate", "POST", summary="Escalate a thread to a support ticket",
          roles=ESCALATORS, status=201,
          body={"type": "object", "properties": {"priority": _priority,
                                                 "note": {"type": "string", "description": "Internal note"}}},
          response={"type": "object", "properties": {"ticket": TICKET}}, errors=(400, 401, 403, 404, 409))
def escalate(thread_id: int):
    data = json_body()
    thread = threads.get_thread(thread_id)
    if not permissions.can_view_thread(api_user(), thread):
        raise NotFound("No such thread.")
    ticket = escalation.escalate(thread, api_user(),
                                 field(data, "priority", required=False) or "normal",
                                 field(data, "note", required=False))
    db.session.commit()
    return jsonify({"ticket": _staff_json(ticket)}), 201


@endpoint("/tickets", "GET", summary="List tickets (urgent and oldest first)", roles=ESCALATORS,
          params=[{"name": n, "in": "query", "required": False, "schema": s} for n, s in (
              ("status", {"type": "string", "enum": list(tickets_queue.STATUS_FILTERS)}),
              ("priority", _priority),
              ("assignee", {"type": "string", "description": "me, none or a username"}),
              ("category", {"type": "integer"}),
              ("age", {"type": "string", "enum": list(tickets_queue.AGE_FILTERS)}),
              ("page", {"type": "integer", "minimum": 1}),
              ("per_page", {"type": "integer", "minimum": 1, "maximum": 100}))],
          response={"type": "object", "properties": {
              "tickets": {"type": "array", "items": TICKET}, "total": {"type": "integer"},
              "page": {"type": "integer"}}},
          errors=(400, 401, 403))
def list_tickets():
    from flask import request

    if not permissions.can_view_tickets(api_user()):
        raise PermissionDenied("Your account is suspended.")
    filters = tickets_queue.clean_filters(request.args)
    page = int_arg("page", 1, low=1, high=100000)
    rows, total = tickets_queue.queue(filters, me=api_user(), page=page,
                                     per_page=int_arg("per_page", 25, low=1, high=100))
    return jsonify({"tickets": [_staff_json(t, events=False) for t, _ in rows],
                    "total": total, "page": page})


@endpoint("/tickets/<int:ticket_id>", "GET",
          summary="A ticket: staff view for moderators/agents/admins, public view for its requester",
          # anyOf, not oneOf: the staff view holds every field of the public one, so it matches both.
          response={"anyOf": [TICKET, PUBLIC_TICKET]}, errors=(401, 404))
def get_ticket(ticket_id: int):
    user = api_user()
    ticket = workflow.get_ticket(ticket_id)
    if permissions.can_view_tickets(user):
        return jsonify(_staff_json(ticket))
    if permissions.can_view_own_ticket(user, ticket):
        return jsonify(payloads.public_view(ticket))
    raise NotFound("No such ticket.")


@endpoint("/tickets/<int:ticket_id>", "PATCH", summary="Change a ticket's status, priority or assignee",
          roles=AGENTS,
          body={"type": "object", "properties": {
              "status": _status, "priority": _priority,
              "assignee": {"type": "string", "nullable": True, "description": "Username of an agent; null unassigns"},
              "accept_post_id": {"type": "integer", "description": "With status solved: mark this "
                                 "official response as the thread's accepted answer"}}},
          response=TICKET, errors=(400, 401, 403, 404, 409))
def update_ticket(ticket_id: int):
    data = json_body()
    ticket = workflow.get_ticket(ticket_id)
    known = {"status", "priority", "assignee", "accept_post_id"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError(f"Unknown field “{unknown[0]}”.", field=unknown[0])
    if not set(data) & known:
        raise ValidationError("Send at least one of: status, priority, assignee.")
    workflow.update(api_user(), ticket,
                   status=field(data, "status", required=False),
                   priority=field(data, "priority", required=False),
                   assignee=field(data, "assignee", required=False, nullable=True)
                   if "assignee" in data else ...,
                   accept_post_id=field(data, "accept_post_id", int, required=False))
    db.session.commit()
    return jsonify(_staff_json(ticket))


@endpoint("/tickets/<int:ticket_id>/replies", "POST",
          summary="Reply on a ticket: public (an Official response in the thread) or an internal note",
          roles=AGENTS, status=201,
          body={"type": "object", "required": ["body"], "properties": {
              "body": {"type": "string"},
              "public": {"type": "boolean", "default": False,
                         "description": "true: the customer sees it; false: internal note"}}},
          response={"type": "object", "properties": {"event": _event,
                                                     "post_id": {"type": "integer", "nullable": True}}},
          errors=(400, 401, 403, 404))
def reply(ticket_id: int):
    data = json_body()
    ticket = workflow.get_ticket(ticket_id)
    body = field(data, "body")
    public = field(data, "public", bool, required=False)
    if public:
        event = workflow.add_public_reply(api_user(), ticket, body)
    else:
        event = workflow.add_note(api_user(), ticket, body)
    db.session.commit()
    return jsonify({"event": payloads.event_data(event), "post_id": event.post_id}), 201
