"""Links from threads and tickets to ideas over JSON; ``link_json`` is shared with ``ideas.py``."""
from __future__ import annotations

from flask import jsonify

from .. import permissions, urls
from ..extensions import db
from ..services.errors import PermissionDenied, ValidationError
from ..services.forum import threads
from ..services.ideas import exchange, links
from ..services.tickets import workflow
from .auth import api_user
from .body import field, json_body
from .serializers import iso
from .spec import endpoint, schema

LINKERS = ("moderator", "agent", "product", "admin")

LINK = schema("IdeaLink", {
    "type": "object", "description": "A thread or ticket linked to an idea (titles only where the caller may see them).",
    "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["thread", "ticket"]},
        "thread_id": {"type": "integer", "nullable": True}, "ticket_id": {"type": "integer", "nullable": True},
        "title": {"type": "string"}, "url": {"type": "string", "nullable": True},
        "status": {"type": "string", "nullable": True, "description": "tickets: open, pending, solved, closed"},
        "source": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}})


def link_json(link, target, user) -> dict:
    """One link as the caller may see it (``target`` is its thread or ticket)."""
    data = {"id": link.id, "kind": "thread" if link.thread_id else "ticket", "thread_id": link.thread_id,
            "ticket_id": link.ticket_id, "source": link.source, "created_at": iso(link.created_at)}
    if link.thread_id:
        data.update(title=target.title, url=urls.thread_url(target, external=True), status=None)
    else:
        if permissions.can_view_tickets(user):
            url = urls.absolute_url(workflow.ticket_url(target, staff=True))
        elif permissions.can_view_own_ticket(user, target):
            url = urls.absolute_url(workflow.ticket_url(target, staff=False))
        else:
            url = None
        data.update(title=target.subject, url=url, status=target.status)
    return data


def visible_links_json(user, idea) -> tuple[list[dict], int]:
    seen = links.visible_links(user, idea)
    items = [link_json(link, t, user) for link, t in seen["threads"]]
    items += [link_json(link, t, user) for link, t in seen["tickets"]]
    return sorted(items, key=lambda item: item["id"]), seen["hidden"]


def _linker():
    user = api_user()
    if not permissions.can_link_ideas(user):
        raise PermissionDenied("Only moderators, agents and the product team may link threads and tickets.")
    return user


@endpoint("/ideas/<int:idea_id>/links", "POST", summary="Link a thread or a ticket to an idea", status=201,
          also={200: "Already linked: the existing link, nothing changed"}, roles=LINKERS,
          body={"type": "object", "description": "Exactly one of thread_id and ticket_id.", "properties": {
              "thread_id": {"type": "integer"}, "ticket_id": {"type": "integer"}}},
          response=LINK, errors=(400, 401, 403, 404, 409),
          description="201 with the new link; 200 with the existing one when it was already linked "
                      "(idempotent). A thread merged into another links that one; a deleted thread is 400. "
                      "409 when the idea was merged (link to the idea it was merged into).")
def create_link(idea_id: int):
    data = json_body()
    user = _linker()
    idea = exchange.get_idea(idea_id)
    thread_id = field(data, "thread_id", int, required=False)
    ticket_id = field(data, "ticket_id", int, required=False)
    if (thread_id is None) == (ticket_id is None):
        raise ValidationError("Send exactly one of thread_id and ticket_id.",
                              field="thread_id" if thread_id is None else "ticket_id")
    if thread_id is not None:
        link, created = links.link_thread(user, idea, threads.get_thread(thread_id))
        target = threads.get_thread(link.thread_id)      # a merged thread links where it went
    else:
        target = workflow.get_ticket(ticket_id)
        link, created = links.link_ticket(user, idea, target)
    db.session.commit()
    return jsonify(link_json(link, target, user)), 201 if created else 200


@endpoint("/ideas/<int:idea_id>/links/<int:link_id>", "DELETE", summary="Remove a link from an idea",
          status=204, roles=LINKERS, errors=(401, 403, 404))
def delete_link(idea_id: int, link_id: int):
    user = _linker()
    idea = exchange.get_idea(idea_id)
    links.unlink(user, idea, link_id)
    db.session.commit()
    return "", 204
