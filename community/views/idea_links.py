"""Linking threads and tickets to ideas from the idea page, the thread page and the ticket page.

Moderators, agents, product people and admins only (``permissions.can_link_ideas``).
Each form posts here, commits once and goes back where it came from.
"""
from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user, login_required

from .. import permissions, urls
from ..services.errors import NotFound, ValidationError
from ..services.forum import threads
from ..services.ideas import exchange, links
from ..services.tickets import workflow
from .actions import commit_and_redirect

bp = Blueprint("idea_links", __name__)


def link_offered(actor, idea_ref, *, thread=None, ticket=None, source: str) -> None:
    """Escalating a thread or solving a ticket offers an idea field; link what it names.

    Empty means "no idea"; the caller's transaction (and its rollback on error) covers it.
    """
    if not (idea_ref or "").strip() or not permissions.can_link_ideas(actor):
        return
    idea = idea_from_form(idea_ref)
    if thread is not None:
        links.link_thread(actor, idea, thread, source=source)
    if ticket is not None:
        links.link_ticket(actor, idea, ticket, source=source)


def _require_linker() -> None:
    if not permissions.can_link_ideas(current_user):
        abort(403)


def idea_from_form(value, field: str = "idea"):
    """The idea a form names by number or link (400 naming the field when there is none)."""
    idea_id = links.parse_ref(value, "idea", field=field)
    try:
        return exchange.get_idea(idea_id)
    except NotFound:
        raise ValidationError(f"There is no idea #{idea_id}.", field=field) from None


@bp.post("/ideas/<int:idea_id>/links")
@login_required
def link(idea_id: int):
    """The idea page's form: ``kind`` (thread or ticket) and ``target`` (number or link)."""
    _require_linker()
    idea = exchange.get_idea(idea_id)
    back = urls.idea_url(idea) + "#links"
    kind = request.form.get("kind", "thread")

    def link_target():
        if kind not in ("thread", "ticket"):
            raise ValidationError("Link a thread or a ticket.", field="kind")
        target_id = links.parse_ref(request.form.get("target"), kind, field="target")
        if kind == "thread":
            _link, created = links.link_thread(current_user, idea, threads.get_thread(target_id))
        else:
            _link, created = links.link_ticket(current_user, idea, workflow.get_ticket(target_id))
        return (f"{kind.capitalize()} #{target_id} linked." if created
                else f"{kind.capitalize()} #{target_id} was already linked.")

    return commit_and_redirect(link_target, success=lambda message: message, back=back)


@bp.post("/ideas/<int:idea_id>/links/<int:link_id>/delete")
@login_required
def unlink(idea_id: int, link_id: int):
    _require_linker()
    idea = exchange.get_idea(idea_id)
    back = urls.idea_url(idea) + "#links"
    return commit_and_redirect(lambda: links.unlink(current_user, idea, link_id), success="Link removed.", back=back)


@bp.post("/threads/<int:thread_id>/idea-link")
@login_required
def link_thread(thread_id: int):
    """The thread page's "This asks for idea #…" form."""
    _require_linker()
    thread = threads.get_thread(thread_id)
    back = urls.thread_url(thread)

    def link_idea():
        idea = idea_from_form(request.form.get("idea"))
        _link, created = links.link_thread(current_user, idea, thread)
        return f"Linked to idea #{idea.id} “{idea.title}”." if created else f"Already linked to idea #{idea.id}."

    return commit_and_redirect(link_idea, success=lambda message: message, back=back)


@bp.post("/tickets/<int:ticket_id>/idea-link")
@login_required
def link_ticket(ticket_id: int):
    """The ticket page's "Feature request" panel."""
    _require_linker()
    ticket = workflow.get_ticket(ticket_id)
    back = f"/tickets/{ticket.id}"

    def link_idea():
        idea = idea_from_form(request.form.get("idea"))
        _link, created = links.link_ticket(current_user, idea, ticket)
        return (f"Ticket linked to idea #{idea.id} “{idea.title}”." if created
                else f"Already linked to idea #{idea.id}.")

    return commit_and_redirect(link_idea, success=lambda message: message, back=back)
