"""Closing the loop: when an idea is delivered or declined, the people who asked hear about it.

Every linked thread (not deleted) gets the official response as an
"Official response" reply from the product team member who set the status,
and everyone behind the idea is notified once: followers, voters, authors of
linked threads and requesters of linked tickets who have an account.
Notifications go through ``services/notifications.notify`` after the commit
(``services/fanout.notify_later``), where email
hooks in (each person's channel preference for ideas: off, on the site only,
the digest, or email at once with the response in the mail).  A guest requester
whose email belongs to an account is that account; guests without one (only an
email on the ticket) are not notified.  Runs inside ``exchange.change_status``'s
transaction, so a failure leaves nothing half-done.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ...extensions import db
from ...models import Idea, IdeaFollow, IdeaLink, IdeaVote, Thread, Ticket, User, utcnow
from ...urls import idea_url
from .. import fanout
from ..forum import threads

CLOSING_STATUSES = ("delivered", "declined")


def linked_threads(idea: Idea) -> list[Thread]:
    """The threads that get the official response: each linked thread, or the thread it was
    merged into (its posts and its asker are there now), each once; deleted ones left out."""
    found = db.session.execute(
        select(Thread).join(IdeaLink, IdeaLink.thread_id == Thread.id)
        .where(IdeaLink.idea_id == idea.id).order_by(Thread.id)).scalars().all()
    targets = {t.merged_into_id for t in found if t.merged_into_id}
    merged_into = {t.id: t for t in db.session.execute(
        select(Thread).where(Thread.id.in_(targets))).scalars()} if targets else {}
    out: dict[int, Thread] = {}
    for thread in found:
        thread = merged_into.get(thread.merged_into_id, thread) if thread.merged_into_id else thread
        if not thread.deleted and not thread.merged_into_id:
            out.setdefault(thread.id, thread)
    return sorted(out.values(), key=lambda t: t.id)


def reply_in_linked_threads(actor: User, idea: Idea, label: str, response: str) -> int:
    """Post the official response in every linked thread; returns how many got it.

    The reply is written as the product team's (``official=True``) and is not
    subject to new-account posting limits (it is the answer to a status change,
    not new content); the thread's author hears about it through ``notify_people``.
    """
    body = (f"**{label}: [{idea.title}]({idea_url(idea)})**, the idea this question asks for.\n\n"
            f"{response}")
    now = utcnow()
    posted = 0
    for thread in linked_threads(idea):
        threads.add_reply(actor, thread, body, created_at=now, official=True, notify=False)
        posted += 1
    return posted


def people_behind(idea: Idea, *, linked: bool) -> set[int]:
    """Followers and voters; with ``linked``, also linked threads' authors and tickets' requesters."""
    people = set(db.session.execute(select(IdeaFollow.user_id).where(IdeaFollow.idea_id == idea.id)).scalars())
    people |= set(db.session.execute(select(IdeaVote.user_id).where(IdeaVote.idea_id == idea.id)).scalars())
    if linked:
        people |= set(db.session.execute(
            select(Thread.author_id).join(IdeaLink, IdeaLink.thread_id == Thread.id)
            .where(IdeaLink.idea_id == idea.id, Thread.deleted.is_(False))).scalars())
        people |= set(db.session.execute(
            select(Ticket.requester_id).join(IdeaLink, IdeaLink.ticket_id == Ticket.id)
            .where(IdeaLink.idea_id == idea.id, Ticket.requester_id.is_not(None))).scalars())
        # A guest requester whose email is an account's is that person (as in demand.py).
        guest_emails = select(func.lower(Ticket.requester_email)).join(IdeaLink, IdeaLink.ticket_id == Ticket.id) \
            .where(IdeaLink.idea_id == idea.id, Ticket.requester_id.is_(None), Ticket.requester_email.is_not(None))
        people |= set(db.session.execute(
            select(User.id).where(User.email.in_(guest_emails), User.deleted_at.is_(None))).scalars())
    return people


def notify_people(idea: Idea, message: str, actor: User, *, linked: bool, response: str | None = None) -> int:
    """Notify everyone behind ``idea`` once each (never the actor), after the commit
    (``services/fanout.py``); returns how many it may reach.

    Each person's channel preference for ideas decides (``notifications.notify``): off is
    nothing, on the site only is in-app, the digest lists it, "email at once" mails it with
    the official ``response`` in the mail.
    """
    url = idea_url(idea) + "#response"
    details = {"response": response} if response else None
    return fanout.notify_later(people_behind(idea, linked=linked), "idea_status", message, url,
                               actor_id=actor.id, details=details)
