"""Read side of tickets: the agent queue with its filters, a customer's own tickets,
and the thread banner's one-row lookup."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import Category, Thread, Ticket, User, utcnow
from ...models.tickets import ACTIVE_STATUSES, TICKET_PRIORITIES, TICKET_STATUSES
from .. import inputs
from ..errors import ValidationError

STATUS_FILTERS = ("active", *TICKET_STATUSES, "all")
AGE_FILTERS = {"over_target": "Over response target", "1d": "Older than 1 day",
               "3d": "Older than 3 days", "7d": "Older than 7 days"}
PRIORITY_RANK = case({p: i for i, p in enumerate(TICKET_PRIORITIES)}, value=Ticket.priority, else_=0)


def clean_filters(args) -> dict:
    """Filters from query arguments; a 400 naming the bad one."""
    status = args.get("status") or "active"
    if status not in STATUS_FILTERS:
        raise ValidationError(f"Status must be one of: {', '.join(STATUS_FILTERS)}.", field="status")
    priority = args.get("priority") or None
    if priority is not None and priority not in TICKET_PRIORITIES:
        raise ValidationError(f"Priority must be one of: {', '.join(TICKET_PRIORITIES)}.", field="priority")
    age = args.get("age") or None
    if age is not None and age not in AGE_FILTERS:
        raise ValidationError(f"Age must be one of: {', '.join(AGE_FILTERS)}.", field="age")
    category = args.get("category") or None
    if category is not None:
        category = inputs.id_or_none(category)
        if category is None:
            raise ValidationError("Category must be a category id.", field="category")
    assignee = (args.get("assignee") or "").strip() or None
    return {"status": status, "priority": priority, "age": age, "category": category,
            "assignee": assignee}


def response_target() -> timedelta:
    return timedelta(hours=float(current_app.config["TICKET_RESPONSE_TARGET_HOURS"]))


def queue(filters: dict, *, me: User | None = None, page: int = 1, per_page: int = 25):
    """``(rows, total)``; rows are ``(ticket, category_name)``, urgent and oldest first."""
    where = []
    status = filters.get("status") or "active"
    if status == "active":
        where.append(Ticket.status.in_(ACTIVE_STATUSES))
    elif status != "all":
        where.append(Ticket.status == status)
    if filters.get("priority"):
        where.append(Ticket.priority == filters["priority"])
    if filters.get("category"):
        where.append(Thread.category_id == filters["category"])
    assignee = filters.get("assignee")
    if assignee == "me":
        where.append(Ticket.assignee_id == (me.id if me else -1))
    elif assignee == "none":
        where.append(Ticket.assignee_id.is_(None))
    elif assignee:
        user_id = db.session.execute(
            select(User.id).where(func.lower(User.username) == assignee.lower())).scalar()
        if user_id is None:
            raise ValidationError("No such assignee.", field="assignee")
        where.append(Ticket.assignee_id == user_id)
    now = utcnow()
    age = filters.get("age")
    if age == "over_target":
        where += [Ticket.first_response_at.is_(None), Ticket.status.in_(ACTIVE_STATUSES),
                  Ticket.created_at <= now - response_target()]
    elif age:
        where.append(Ticket.created_at <= now - timedelta(days=int(age[:-1])))
    base = (select(Ticket, Category.name)
            .outerjoin(Thread, Thread.id == Ticket.thread_id)
            .outerjoin(Category, Category.id == Thread.category_id))
    stmt = (base.options(selectinload(Ticket.assignee), selectinload(Ticket.requester))
            .where(*where).order_by(PRIORITY_RANK.desc(), Ticket.created_at, Ticket.id)
            .limit(per_page).offset((max(page, 1) - 1) * per_page))
    rows = db.session.execute(stmt).all()
    total = db.session.execute(
        select(func.count()).select_from(base.where(*where).subquery())).scalar_one()
    return [(t, name) for t, name in rows], total


def age_state(ticket: Ticket) -> dict:
    """The ticket's age against the response target, for the queue's age column."""
    target = response_target()
    waited = (ticket.first_response_at or utcnow()) - ticket.created_at
    return {"hours": waited.total_seconds() / 3600, "target_hours": target.total_seconds() / 3600,
            "responded": ticket.first_response_at is not None, "over": waited > target}


def agents() -> list[User]:
    """Who can be assigned (for the assignee select)."""
    return list(db.session.execute(
        select(User).where(User.role.in_(("agent", "admin"))).order_by(User.username)).scalars())


def for_requester(user_id: int, limit: int | None = None) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.requester_id == user_id).order_by(Ticket.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.execute(stmt).scalars())


def banner(thread_id: int):
    """The thread's latest ticket as ``(id, status, requester_id)``, or None.  One query."""
    return db.session.execute(
        select(Ticket.id, Ticket.status, Ticket.requester_id)
        .where(Ticket.thread_id == thread_id).order_by(Ticket.id.desc()).limit(1)
    ).first()
