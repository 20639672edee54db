"""Threads the community could not solve, and turning one into an official ticket.

The unresolved queue lists visible threads without an active ticket that have
had no reply for ``UNRESOLVED_NO_REPLY_HOURS``, no accepted answer for
``UNRESOLVED_NO_ACCEPT_DAYS``, or an open "needs moderator" flag.  ``escalate``
opens a ticket carrying a snapshot of the thread as it was, so the customer
never has to repeat themselves.  Callers check ``permissions.can_escalate`` and commit.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import AskEvent, Flag, Post, Thread, Ticket, User, utcnow
from ...urls import thread_url
from .. import fanout
from ..errors import Conflict, ValidationError
from ..locking import lock
from ..moderation import audit, flags
from . import workflow
from .payloads import iso

SORTS = {"age": "Oldest first", "views": "Most viewed", "votes": "Most votes"}
REASONS = {"no_reply": "No reply", "no_accept": "No accepted answer",
           "flagged": "Flagged: needs a moderator"}


def active_ticket(thread_id: int) -> Ticket | None:
    """The thread's ticket that is not closed, if any."""
    return db.session.execute(
        select(Ticket).where(Ticket.thread_id == thread_id, Ticket.status != "closed")
        .order_by(Ticket.id.desc()).limit(1)
    ).scalar()


def unresolved(*, sort: str = "age", page: int = 1, per_page: int = 20):
    """``(rows, total)``: rows are ``(thread, [reason, ...])``.  One query for the page
    (authors, categories and tags come in one select-in query each)."""
    cfg = current_app.config
    now = utcnow()
    no_reply = and_(Thread.reply_count == 0,
                    Thread.created_at <= now - timedelta(hours=cfg["UNRESOLVED_NO_REPLY_HOURS"]))
    no_accept = and_(Thread.accepted_post_id.is_(None),
                     Thread.created_at <= now - timedelta(days=cfg["UNRESOLVED_NO_ACCEPT_DAYS"]))
    flagged = exists().where(Flag.thread_id == Thread.id, Flag.reason == "needs_moderator",
                             Flag.resolved_at.is_(None))
    has_ticket = exists().where(Ticket.thread_id == Thread.id, Ticket.status != "closed")
    where = [Thread.visible, ~has_ticket, or_(no_reply, no_accept, flagged)]
    order = {"views": [Thread.view_count.desc()], "votes": [Thread.score.desc()]}.get(
        sort, [Thread.created_at.asc()])
    stmt = (select(Thread,
                   case((no_reply, 1), else_=0).label("no_reply"),
                   case((no_accept, 1), else_=0).label("no_accept"),
                   case((flagged, 1), else_=0).label("flagged"))
            .options(selectinload(Thread.author), selectinload(Thread.category),
                     selectinload(Thread.tags))
            .where(*where).order_by(*order, Thread.id)
            .limit(per_page).offset((max(page, 1) - 1) * per_page))
    rows = [(thread, [name for name, on in zip(REASONS, flags) if on])
            for thread, *flags in db.session.execute(stmt).all()]
    total = db.session.execute(select(func.count()).select_from(Thread).where(*where)).scalar_one()
    return rows, total


def ask_session_for(thread_id: int) -> str | None:
    """The ask session that ended in this thread being posted, if one was recorded."""
    return db.session.execute(
        select(AskEvent.session_id).where(AskEvent.kind == "question_posted",
                                          AskEvent.thread_id == thread_id)
        .order_by(AskEvent.id.desc()).limit(1)
    ).scalar()


def snapshot(thread: Thread, ask_session_id: str | None) -> dict:
    """The thread as it is now: question, every visible reply, people, counts, queries."""
    posts = list(db.session.execute(
        select(Post).options(selectinload(Post.author))
        .where(Post.thread_id == thread.id, Post.visible)
        .order_by(Post.created_at, Post.id)
    ).scalars())
    question = next((p for p in posts if p.is_question), None)

    def post_data(post: Post) -> dict:
        # body_html: the post's stored HTML, so the ticket page never renders Markdown
        return {"post_id": post.id, "author": post.author.username, "body": post.body, "body_html": post.body_html,
                "score": post.score, "created_at": iso(post.created_at),
                "official": post.is_official, "accepted": post.id == thread.accepted_post_id}

    return {
        "captured_at": iso(utcnow()),
        "thread": {"id": thread.id, "title": thread.title, "url": thread_url(thread, external=True),
                   "created_at": iso(thread.created_at), "views": thread.view_count,
                   "votes": thread.score, "reply_count": thread.reply_count,
                   "solved": thread.solved},
        "author": {"id": thread.author_id, "username": thread.author.username},
        "category": {"id": thread.category_id, "name": thread.category.name},
        "tags": [t.name for t in thread.tags],
        "question": post_data(question) if question else None,
        "replies": [post_data(p) for p in posts if not p.is_question],
        "ask_session_id": ask_session_id,
        "search_queries": workflow.session_queries(ask_session_id) if ask_session_id else [],
    }


def escalate(thread: Thread, actor: User, priority: str = "normal", note: str | None = None) -> Ticket:
    """Open a ticket for ``thread``; 409 if it already has one that is not closed."""
    lock(Thread, thread.id)  # concurrent escalations of one thread: the second sees the first's ticket
    if thread.deleted or thread.merged_into_id:
        raise ValidationError("This thread can no longer be escalated.", field="thread_id")
    note = (note or "").strip() or None
    if note and len(note) > current_app.config["BODY_MAX_LENGTH"]:
        raise ValidationError("The note is too long.", field="note")
    existing = active_ticket(thread.id)
    if existing is not None:
        raise Conflict(f"This thread is already escalated: ticket #{existing.id} is {existing.status}.",
                       field="thread_id")
    session_id = ask_session_for(thread.id)
    question = db.session.get(Post, thread.question_post_id) if thread.question_post_id else None
    try:
        with db.session.begin_nested():
            ticket = workflow.open_ticket(
                source="escalation", subject=thread.title, body=question.body if question else "",
                requester=thread.author, thread_id=thread.id, ask_session_id=session_id,
                priority=priority, created_by=actor, context=snapshot(thread, session_id), note=note)
    except IntegrityError:  # a concurrent escalation won (one active ticket per thread)
        raise Conflict("This thread was just escalated by someone else.", field="thread_id") from None
    # the thread leaves the "flagged as needing a moderator" part of the queue
    flags.resolve_attention_flags(actor, thread.id, "escalated", f"Escalated to ticket #{ticket.id}")
    audit.record(actor, "thread.escalate", "thread", thread.id,
                 after={"ticket_id": ticket.id, "priority": ticket.priority}, note=note)
    fanout.notify_later(thread.author_id, "ticket_status",
                         f"Your question “{thread.title}” was escalated to our support team",
                         thread_url(thread), actor_id=actor.id, thread_id=thread.id)
    return ticket
