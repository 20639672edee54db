"""Demand behind an idea: votes, distinct customers, linked threads and tickets, recent contacts.

Defined in ``docs/ideas.md`` (Demand), pinned by ``tests/ideas/test_ideas_demand.py``::

    customers    = |voters ∪ authors of linked threads ∪ requesters of linked tickets|
                   (members only, each person once; a guest requester is their email,
                   or the account that has that email)
    threads      = linked threads that are not deleted
    tickets      = linked tickets
    contacts_90d = tickets opened in the last 90 days that are linked or were
                   opened from a linked thread (each ticket once)
    demand       = customers + contacts_90d

Everything is grouped SQL, so a page of ideas (or a list sorted by demand)
costs a fixed number of queries.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, case, cast, func, literal, or_, select, union, union_all
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import Idea, IdeaLink, IdeaVote, Thread, Ticket, User, utcnow

#: Roles whose people count as customers (staff votes count as votes, not customers).
CUSTOMER_ROLES = ("member",)
CONTACT_WINDOW_DAYS = 90
FIELDS = ("votes", "customers", "threads", "tickets", "contacts_90d")


def _user_key(column):
    return literal("u:") + cast(column, String)


def people():
    """Subquery ``(idea_id, person)``: every customer behind every idea (repeats allowed)."""
    voters = (select(IdeaVote.idea_id.label("idea_id"), _user_key(IdeaVote.user_id).label("person"))
              .join(User, User.id == IdeaVote.user_id).where(User.role.in_(CUSTOMER_ROLES)))
    authors = (select(IdeaLink.idea_id, _user_key(Thread.author_id))
               .join(Thread, Thread.id == IdeaLink.thread_id).join(User, User.id == Thread.author_id)
               .where(Thread.deleted.is_(False), User.role.in_(CUSTOMER_ROLES)))
    requester, by_email = aliased(User), aliased(User)
    key = case((Ticket.requester_id.is_not(None), _user_key(Ticket.requester_id)),
               (by_email.id.is_not(None), _user_key(by_email.id)),
               else_=literal("e:") + func.lower(Ticket.requester_email))
    role = func.coalesce(requester.role, by_email.role, literal(CUSTOMER_ROLES[0]))
    requesters = (select(IdeaLink.idea_id, key)
                  .join(Ticket, Ticket.id == IdeaLink.ticket_id)
                  .outerjoin(requester, requester.id == Ticket.requester_id)
                  .outerjoin(by_email, and_(Ticket.requester_id.is_(None),
                                            by_email.email == func.lower(Ticket.requester_email)))
                  .where(or_(Ticket.requester_id.is_not(None),
                             and_(Ticket.requester_email.is_not(None), Ticket.requester_email != "")),
                         role.in_(CUSTOMER_ROLES)))
    return union_all(voters, authors, requesters).subquery("people")


def customers_table():
    """Subquery ``(idea_id, customers)``."""
    p = people()
    return (select(p.c.idea_id, func.count(func.distinct(p.c.person)).label("customers"))
            .group_by(p.c.idea_id).subquery("customers"))


def contacts_table(now: datetime | None = None):
    """Subquery ``(idea_id, contacts)``: recent tickets linked or opened from a linked thread."""
    since = (now or utcnow()) - timedelta(days=CONTACT_WINDOW_DAYS)
    direct = select(IdeaLink.idea_id.label("idea_id"), IdeaLink.ticket_id.label("ticket_id")) \
        .where(IdeaLink.ticket_id.is_not(None))
    via_thread = select(IdeaLink.idea_id, Ticket.id).join(Ticket, Ticket.thread_id == IdeaLink.thread_id)
    pairs = union(direct, via_thread).subquery("idea_tickets")
    return (select(pairs.c.idea_id, func.count(func.distinct(pairs.c.ticket_id)).label("contacts"))
            .join(Ticket, Ticket.id == pairs.c.ticket_id).where(Ticket.created_at >= since)
            .group_by(pairs.c.idea_id).subquery("contacts"))


def score_columns(now: datetime | None = None):
    """``(customers_sq, contacts_sq, score)`` for joining to a select of ``Idea`` (sorting, filtering)."""
    customers, contacts = customers_table(), contacts_table(now)
    score = func.coalesce(customers.c.customers, 0) + func.coalesce(contacts.c.contacts, 0)
    return customers, contacts, score


def demand_map(idea_ids, now: datetime | None = None) -> dict[int, dict]:
    """``{idea_id: {votes, customers, threads, tickets, contacts_90d, demand}}`` in four queries."""
    ids = list(idea_ids)
    if not ids:
        return {}
    result = {i: dict.fromkeys((*FIELDS, "demand"), 0) for i in ids}
    for idea_id, votes in db.session.execute(select(Idea.id, Idea.vote_count).where(Idea.id.in_(ids))):
        result[idea_id]["votes"] = votes
    customers = customers_table()
    for idea_id, n in db.session.execute(select(customers).where(customers.c.idea_id.in_(ids))):
        result[idea_id]["customers"] = int(n)
    contacts = contacts_table(now)
    for idea_id, n in db.session.execute(select(contacts).where(contacts.c.idea_id.in_(ids))):
        result[idea_id]["contacts_90d"] = int(n)
    live_thread = and_(IdeaLink.thread_id.is_not(None), Thread.deleted.is_(False))
    counts = (select(IdeaLink.idea_id, func.sum(case((live_thread, 1), else_=0)),
                     func.sum(case((IdeaLink.ticket_id.is_not(None), 1), else_=0)))
              .outerjoin(Thread, Thread.id == IdeaLink.thread_id)
              .where(IdeaLink.idea_id.in_(ids)).group_by(IdeaLink.idea_id))
    for idea_id, n_threads, n_tickets in db.session.execute(counts):
        result[idea_id]["threads"], result[idea_id]["tickets"] = int(n_threads or 0), int(n_tickets or 0)
    for row in result.values():
        row["demand"] = row["customers"] + row["contacts_90d"]
    return result


def demand_for(idea: Idea, now: datetime | None = None) -> dict:
    return demand_map([idea.id], now)[idea.id]
