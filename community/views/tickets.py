"""Support pages: the agent queue, ticket pages, the unresolved queue, escalation,
the webhook delivery log, and a customer's own tickets.

Moderators, agents and admins see the queues and ticket pages; only agents and
admins change tickets (moderators read, and escalate).  Customers see the
public part of their own tickets at /my/tickets; nobody else's.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from .. import permissions, urls
from ..markup import safe
from ..extensions import db
from ..models import Thread
from ..models.tickets import TICKET_PRIORITIES, TICKET_STATUSES
from ..ratelimit import hit
from ..services.errors import Conflict, ServiceError
from ..services.forum import listings, threads
from ..services.tickets import customer, escalation, payloads, webhooks, workflow
from ..services.tickets import queue as tickets_queue
from ..services.ideas import links as idea_links
from . import thread_panels
from .actions import commit
from .idea_links import link_offered
from .util import safe_referrer, url_for_args

bp = Blueprint("tickets", __name__)


@bp.app_template_global()
def stored_body(html: str | None, text: str | None) -> Markup:
    """A body's HTML as stored when it was written (the ticket, its snapshot, its events);
    a page view renders no Markdown.  Without stored HTML the text shows as is, escaped."""
    if html:
        return safe(html)
    return Markup("<p>%s</p>") % text if text else Markup("")


def _require(check) -> None:
    if not check(current_user):
        abort(403)


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


# -- the agent queue ------------------------------------------------------------------

@bp.get("/tickets")
@login_required
def queue():
    _require(permissions.can_view_tickets)
    error = None
    try:
        filters = tickets_queue.clean_filters(request.args)
        rows, total = tickets_queue.queue(filters, me=current_user, page=_page())
    except ServiceError as exc:
        error, filters = exc, tickets_queue.clean_filters({})
        rows, total = tickets_queue.queue(filters, me=current_user, page=1)
    return render_template(
        "tickets/queue.html", rows=rows, total=total, filters=filters, error=error,
        page=_page(), per_page=25, age_state=tickets_queue.age_state,
        statuses=tickets_queue.STATUS_FILTERS, priorities=TICKET_PRIORITIES,
        ages=tickets_queue.AGE_FILTERS, categories=listings.categories(),
        target_hours=tickets_queue.response_target().total_seconds() / 3600,
    ), 400 if error else 200


@bp.post("/tickets/<int:ticket_id>/assign-me")
@login_required
def assign_me(ticket_id: int):
    _require(permissions.can_work_tickets)
    ticket = workflow.get_ticket(ticket_id)
    return _apply(ticket, lambda: workflow.assign(current_user, ticket, current_user),
                  "Assigned to you.", request.form.get("next") == "queue")


# -- one ticket (staff) ------------------------------------------------------------------

@bp.get("/tickets/<int:ticket_id>")
@login_required
def show(ticket_id: int):
    _require(permissions.can_view_tickets)
    ticket = workflow.get_ticket(ticket_id)
    return _render_ticket(ticket)


def _render_ticket(ticket, error=None, form=None, status=200):
    official = payloads.timeline(ticket, public_only=False)
    linked_ideas = idea_links.ideas_for_ticket(ticket.id)
    return render_template(
        "tickets/ticket.html", ticket=ticket, events=official, error=error, form=form or {},
        context=ticket.context or {}, age=tickets_queue.age_state(ticket),
        can_work=permissions.can_work_tickets(current_user),
        transitions=workflow.TRANSITIONS[ticket.status], statuses=TICKET_STATUSES,
        priorities=TICKET_PRIORITIES, agents=tickets_queue.agents(),
        official_posts=[e for e in official if e.kind == "reply" and e.post_id],
        thread=db.session.get(Thread, ticket.thread_id) if ticket.thread_id else None,
        linked_ideas=linked_ideas,
        suggested_ideas=thread_panels.suggested_ideas_for_ticket(ticket, linked_ideas),
        thread_ideas=idea_links.ideas_for_thread(ticket.thread_id) if ticket.thread_id else [],
    ), status


def _apply(ticket, action, message: str, back_to_queue: bool = False, form=None):
    """Run a ticket action, commit once, or show the ticket page with the error."""
    outcome = commit(action)
    if outcome.error:
        if back_to_queue:
            flash(outcome.error.message, "error")
            return redirect(url_for("tickets.queue"))
        return _render_ticket(ticket, error=outcome.error, form=form, status=outcome.status)
    if outcome.value == []:  # update() with nothing different
        flash("Nothing changed.", "info")
    else:
        flash(message, "success")
    if back_to_queue:
        return redirect(url_for_args("tickets.queue"))
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.post("/tickets/<int:ticket_id>/update")
@login_required
def update(ticket_id: int):
    _require(permissions.can_work_tickets)
    ticket = workflow.get_ticket(ticket_id)
    form = request.form
    accept = form.get("accept_post_id", type=int) if form.get("accept_post_id") else None

    def change():
        events = workflow.update(
            current_user, ticket, status=form.get("status") or None,
            priority=form.get("priority") or None,
            assignee=form.get("assignee", "") if "assignee" in form else ...,
            accept_post_id=accept)
        if (form.get("idea") or "").strip():  # the form offers "this asks for idea #…" when solving
            source = "ticket_solved" if ticket.status == "solved" else "manual"
            link_offered(current_user, form["idea"], ticket=ticket, source=source)
            return [*events, "linked"]
        return events

    return _apply(ticket, change, "Ticket updated.", form=form)


@bp.post("/tickets/<int:ticket_id>/note")
@login_required
def note(ticket_id: int):
    _require(permissions.can_work_tickets)
    ticket = workflow.get_ticket(ticket_id)
    return _apply(ticket, lambda: workflow.add_note(current_user, ticket, request.form.get("body", "")),
                  "Internal note added.", form=request.form)


@bp.post("/tickets/<int:ticket_id>/reply")
@login_required
def reply(ticket_id: int):
    _require(permissions.can_work_tickets)
    ticket = workflow.get_ticket(ticket_id)
    return _apply(ticket, lambda: workflow.add_public_reply(current_user, ticket,
                                                           request.form.get("body", "")),
                  "Official response posted; the customer was notified.", form=request.form)


# -- the unresolved queue and escalation -------------------------------------------------------

@bp.get("/tickets/unresolved")
@login_required
def unresolved():
    _require(permissions.can_escalate)
    sort = request.args.get("sort", "age")
    sort = sort if sort in escalation.SORTS else "age"
    rows, total = escalation.unresolved(sort=sort, page=_page(), per_page=20)
    return render_template("tickets/unresolved.html", rows=rows, total=total, sort=sort,
                           sorts=escalation.SORTS, reasons=escalation.REASONS, page=_page(),
                           per_page=20, priorities=TICKET_PRIORITIES)


@bp.post("/threads/<int:thread_id>/escalate")
@login_required
def escalate(thread_id: int):
    _require(permissions.can_escalate)
    thread = threads.get_thread(thread_id)

    def escalate_with_idea():
        ticket = escalation.escalate(thread, current_user, request.form.get("priority") or "normal",
                                     request.form.get("note"))
        link_offered(current_user, request.form.get("idea"), thread=thread, ticket=ticket, source="escalation")
        return ticket

    outcome = commit(escalate_with_idea)
    if outcome.error:
        flash(outcome.error.message, "error")
        return redirect(safe_referrer(urls.thread_url(thread)))
    ticket = outcome.value
    flash(f"Escalated to support as ticket #{ticket.id}.", "success")
    if permissions.can_view_tickets(current_user):
        return redirect(url_for("tickets.show", ticket_id=ticket.id))
    return redirect(urls.thread_url(thread))


# -- webhook delivery log (admins) ----------------------------------------------------------------

@bp.get("/tickets/webhooks")
@login_required
def webhook_log():
    _require(permissions.can_view_webhook_log)
    return render_template("tickets/webhooks.html", log=webhooks.delivery_log(),
                           enabled=webhooks.enabled())


@bp.post("/tickets/webhooks/<int:message_id>/retry")
@login_required
def webhook_retry(message_id: int):
    _require(permissions.can_view_webhook_log)
    if webhooks.retry(message_id) is None:
        abort(404)
    db.session.commit()
    flash("Queued for another attempt; the webhook worker will send it.", "success")
    return redirect(url_for("tickets.webhook_log"))


# -- customers: their own tickets -------------------------------------------------------------------

@bp.get("/my/tickets")
@login_required
def mine():
    return render_template("tickets/mine.html", tickets=tickets_queue.for_requester(current_user.id))


def _own_ticket(ticket_id: int):
    ticket = workflow.get_ticket(ticket_id)
    if not permissions.can_view_own_ticket(current_user, ticket):
        abort(404, description="No such ticket among yours.")
    return ticket


def _render_my_ticket(ticket, *, error=None, body="", status=200):
    return render_template("tickets/my_ticket.html", ticket=ticket, error=error, body=body,
                           events=payloads.timeline(ticket, public_only=True)), status


@bp.get("/my/tickets/<int:ticket_id>")
@login_required
def my_ticket(ticket_id: int):
    return _render_my_ticket(_own_ticket(ticket_id))


@bp.post("/my/tickets/<int:ticket_id>/reply")
@login_required
def my_ticket_reply(ticket_id: int):
    """The customer writes back; a pending or solved ticket goes back to the agents as open."""
    ticket = _own_ticket(ticket_id)
    body = request.form.get("body", "")

    def reply():
        if not permissions.can_reply_own_ticket(current_user, ticket):
            raise Conflict(f"This ticket is closed. Contact support again and mention ticket #{ticket.id}.")
        hit("POST_RATE_LIMIT")
        customer.reply(current_user, ticket, body)

    outcome = commit(reply)
    if outcome.error:
        return _render_my_ticket(ticket, error=outcome.error, body=body, status=outcome.status)
    flash("Your reply is sent to our support team.", "success")
    return redirect(url_for("tickets.my_ticket", ticket_id=ticket.id) + "#reply")
