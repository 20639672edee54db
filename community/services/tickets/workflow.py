"""Official support tickets: opening them and working them (status, priority, assignee,
internal notes, public replies).

Every change writes a ``TicketEvent`` (the timeline), an audit entry (agent actions),
a notification for the customer where they should hear about it, and a webhook outbox
row, all in the caller's transaction.  Callers check ``permissions`` and commit.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ... import urls
from ...extensions import db
from ...markup import render_markdown
from ...models import AskEvent, Post, Thread, Ticket, TicketEvent, User, utcnow
from ...models.tickets import TICKET_PRIORITIES, TICKET_STATUSES
from .. import fanout
from .. import inputs
from ..errors import NotFound, ValidationError
from ..forum import accepting, threads
from ..moderation import audit
from . import webhooks

__all__ = ["TRANSITIONS", "open_ticket", "get_ticket", "update", "set_status", "set_priority",
           "assign", "add_note", "add_public_reply", "session_queries", "ticket_url"]

#: Allowed status changes.  "Reopen" is solved/closed -> open; a closed ticket
#: cannot go straight back to pending or solved.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("pending", "solved", "closed"),
    "pending": ("open", "solved", "closed"),
    "solved": ("open", "closed"),
    "closed": ("open",),
}


def open_ticket(*, source: str, subject: str, body: str = "", requester: User | None = None,
                requester_name: str | None = None, requester_email: str | None = None,
                thread_id: int | None = None, ask_session_id: str | None = None,
                priority: str = "normal", created_by: User | None = None,
                context: dict | None = None, note: str | None = None) -> Ticket:
    """Create a ticket with its context snapshot and a ``created`` timeline event.

    When an ask session is attached and the context does not already carry the
    customer's search queries, they are added, so agents see what was tried.
    """
    if priority not in TICKET_PRIORITIES:
        raise ValidationError(f"Priority must be one of: {', '.join(TICKET_PRIORITIES)}.",
                              field="priority")
    context = dict(context or {})
    if ask_session_id and "search_queries" not in context:
        # the Contact page stores them as "queries"; one key for every ticket's readers
        context["search_queries"] = list(context.get("queries") or session_queries(ask_session_id))
    ticket = Ticket(
        source=source, subject=subject[:200], body=body, body_html=render_markdown(body), requester=requester,
        requester_name=requester_name, requester_email=requester_email, thread_id=thread_id,
        ask_session_id=ask_session_id, priority=priority,
        created_by_id=created_by.id if created_by else None, context=context,
    )
    db.session.add(ticket)
    db.session.flush()
    actor_id = created_by.id if created_by else (requester.id if requester else None)
    db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=actor_id, kind="created",
                               public=True, new_value="open"))
    if note:
        db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=actor_id, kind="note",
                                   public=False, body=note, body_html=render_markdown(note)))
    db.session.flush()
    webhooks.enqueue(ticket, "ticket.created")
    return ticket


def session_queries(ask_session_id: str) -> list[str]:
    """The distinct search queries typed during an ask session, in order."""
    rows = db.session.execute(
        select(AskEvent.query).where(AskEvent.session_id == ask_session_id,
                                     AskEvent.query.is_not(None))
        .order_by(AskEvent.id)
    ).scalars()
    seen: list[str] = []
    for query in rows:
        query = query.strip()
        if query and query not in seen:
            seen.append(query)
    return seen


def get_ticket(ticket_id) -> Ticket:
    number = inputs.id_or_none(ticket_id)
    ticket = db.session.get(Ticket, number) if number is not None else None
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def ticket_url(ticket: Ticket, *, staff: bool) -> str:
    """Where a person should go to read ``ticket`` (built without ``url_for``)."""
    return f"/tickets/{ticket.id}" if staff else f"/my/tickets/{ticket.id}"


# -- validation ------------------------------------------------------------------

def clean_status(status) -> str:
    if status not in TICKET_STATUSES:
        raise ValidationError(f"Status must be one of: {', '.join(TICKET_STATUSES)}.", field="status")
    return status


def clean_priority(priority) -> str:
    if priority not in TICKET_PRIORITIES:
        raise ValidationError(f"Priority must be one of: {', '.join(TICKET_PRIORITIES)}.",
                              field="priority")
    return priority


def resolve_assignee(value) -> User | None:
    """A username, a user id or ``None``/"" (unassign) -> an agent or admin."""
    from ... import permissions

    if value in (None, ""):
        return None
    if isinstance(value, User):
        user = value
    elif isinstance(value, int) and not isinstance(value, bool):
        user = db.session.get(User, value)
    elif isinstance(value, str):
        user = db.session.execute(
            select(User).where(func.lower(User.username) == value.strip().lower())
        ).scalar()
    else:
        raise ValidationError("The assignee must be a username.", field="assignee")
    if user is None:
        raise ValidationError("No such user.", field="assignee")
    if not permissions.can_assign_ticket_to(user):
        raise ValidationError(f"{user.username} is not an agent; only agents and admins can be assigned.",
                              field="assignee")
    return user


def check_transition(current: str, new: str) -> None:
    if new != current and new not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current])
        raise ValidationError(f"A {current} ticket can move to: {allowed} (not {new}).", field="status")


# -- working a ticket --------------------------------------------------------------

def update(actor: User, ticket: Ticket, *, status=None, priority=None, assignee=...,
           accept_post_id: int | None = None) -> list[TicketEvent]:
    """Apply several changes at once (the API's PATCH, the ticket page's form).

    Everything is validated before anything changes; ``assignee=...`` means
    "leave as is", ``None`` unassigns.  One webhook row for the whole update.
    """
    new_status = clean_status(status) if status is not None else None
    if new_status is not None:
        check_transition(ticket.status, new_status)
        if ticket.status == "closed" and new_status != "closed" and ticket.thread_id:
            _check_no_other_active(ticket)
    new_priority = clean_priority(priority) if priority is not None else None
    new_assignee = resolve_assignee(assignee) if assignee is not ... else ...
    accept_post = _official_post(ticket, accept_post_id) if accept_post_id else None
    if accept_post is not None and (new_status or ticket.status) != "solved":
        raise ValidationError("An answer can be accepted when the ticket is solved.", field="accept_post_id")

    events = []
    if new_priority is not None and new_priority != ticket.priority:
        events.append(_change(actor, ticket, "priority", ticket.priority, new_priority))
        ticket.priority = new_priority
    if new_assignee is not ... and _id(new_assignee) != ticket.assignee_id:
        old = ticket.assignee.username if ticket.assignee else None
        events.append(_change(actor, ticket, "assignee", old,
                              new_assignee.username if new_assignee else None))
        ticket.assignee = new_assignee
        ticket.assignee_id = _id(new_assignee)
    if new_status is not None and new_status != ticket.status:
        events.append(_set_status(actor, ticket, new_status))
    if accept_post is not None:
        events.append(_accept(actor, ticket, accept_post))
    if events:
        ticket.updated_at = utcnow()
        db.session.flush()
        webhooks.enqueue(ticket, "ticket.updated")
    return events


def set_status(actor: User, ticket: Ticket, status: str, *, accept_post_id: int | None = None):
    return update(actor, ticket, status=status, accept_post_id=accept_post_id)


def set_priority(actor: User, ticket: Ticket, priority: str):
    return update(actor, ticket, priority=priority)


def assign(actor: User, ticket: Ticket, assignee):
    return update(actor, ticket, assignee=assignee)


def add_note(actor: User, ticket: Ticket, body: str) -> TicketEvent:
    """An internal note: agents and moderators only, never shown to the customer."""
    body = threads.clean_body(body, minimum=2)
    event = TicketEvent(ticket_id=ticket.id, actor_id=actor.id, kind="note", public=False,
                        body=body, body_html=render_markdown(body))
    db.session.add(event)
    ticket.updated_at = utcnow()
    audit.record(actor, "ticket.note", "ticket", ticket.id)
    db.session.flush()
    webhooks.enqueue(ticket, "ticket.updated")
    return event


def add_public_reply(actor: User, ticket: Ticket, body: str) -> TicketEvent:
    """A reply the customer sees: an "Official response" post in the thread when there is one."""
    body = threads.clean_body(body, minimum=2)
    post = None
    thread = db.session.get(Thread, ticket.thread_id) if ticket.thread_id else None
    if thread is not None and not thread.deleted:
        post = threads.add_reply(actor, thread, body, official=True, notify=False)
    event = TicketEvent(ticket_id=ticket.id, actor_id=actor.id, kind="reply", public=True,
                        body=body, body_html=post.body_html if post else render_markdown(body),
                        post_id=post.id if post else None)
    db.session.add(event)
    now = utcnow()
    ticket.updated_at = now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    db.session.flush()
    url = urls.thread_url(thread, post.id) if post else ticket_url(ticket, staff=False)
    fanout.notify_later(ticket.requester_id, "ticket_reply",
                         f"Support replied to “{ticket.subject}”", url, actor_id=actor.id,
                         thread_id=thread.id if post else None, post_id=post.id if post else None)
    if post is not None:
        fanout.mentions_added(thread, post, actor, url, body, skip_ids={ticket.requester_id})
    audit.record(actor, "ticket.reply", "ticket", ticket.id,
                 after={"post_id": post.id if post else None})
    webhooks.enqueue(ticket, "ticket.updated")
    return event


# -- internals -----------------------------------------------------------------------

def _id(user: User | None) -> int | None:
    return user.id if user is not None else None


def _change(actor, ticket, kind, old, new, *, public=False) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, actor_id=actor.id, kind=kind, public=public,
                        old_value=old, new_value=new)
    db.session.add(event)
    audit.record(actor, f"ticket.{kind}", "ticket", ticket.id, before={kind: old}, after={kind: new})
    return event


def _set_status(actor: User, ticket: Ticket, status: str) -> TicketEvent:
    old = ticket.status
    event = _change(actor, ticket, "status", old, status, public=True)
    ticket.status = status
    if status == "solved":
        ticket.solved_at = utcnow()
    elif status == "open":
        ticket.solved_at = None
    fanout.notify_later(ticket.requester_id, "ticket_status",
                         f"Your support ticket “{ticket.subject}” is now {status}",
                         _customer_url(ticket), actor_id=actor.id, thread_id=ticket.thread_id)
    return event


def _customer_url(ticket: Ticket) -> str:
    thread = db.session.get(Thread, ticket.thread_id) if ticket.thread_id else None
    return urls.thread_url(thread) if thread is not None else ticket_url(ticket, staff=False)


def _check_no_other_active(ticket: Ticket) -> None:
    """Reopening must not give a thread two active tickets."""
    from ..errors import Conflict

    other = db.session.execute(
        select(Ticket.id).where(Ticket.thread_id == ticket.thread_id, Ticket.id != ticket.id,
                                Ticket.status != "closed").limit(1)
    ).scalar()
    if other is not None:
        raise Conflict(f"The thread has another active ticket (#{other}); work that one.", field="status")


def _official_post(ticket: Ticket, post_id) -> Post:
    """A public reply of this ticket that is a post in its thread."""
    post_id = inputs.id_or_none(post_id)
    if post_id is None:
        raise ValidationError("Choose one of this ticket's official responses.", field="accept_post_id")
    found = db.session.execute(
        select(TicketEvent.post_id).where(TicketEvent.ticket_id == ticket.id,
                                          TicketEvent.kind == "reply",
                                          TicketEvent.post_id == post_id)
    ).scalar()
    post = db.session.get(Post, post_id) if found else None
    if post is None:
        raise ValidationError("Choose one of this ticket's official responses.", field="accept_post_id")
    return post


def _accept(actor: User, ticket: Ticket, post: Post) -> TicketEvent:
    thread = db.session.get(Thread, ticket.thread_id)
    before = thread.accepted_post_id
    accepting.accept(actor, thread, post)
    event = TicketEvent(ticket_id=ticket.id, actor_id=actor.id, kind="accepted", public=True,
                        post_id=post.id, old_value=str(before) if before else None,
                        new_value=str(post.id))
    db.session.add(event)
    audit.record(actor, "ticket.accept", "thread", thread.id,
                 before={"accepted_post_id": before}, after={"accepted_post_id": post.id},
                 note=f"ticket {ticket.id}")
    return event
