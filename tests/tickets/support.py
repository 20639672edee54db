"""Helpers shared by the ticket tests."""
from __future__ import annotations

from community.extensions import db
from community.models import AskEvent, AskSession
from community.services.tickets import escalation


def escalated(make, *, moderator=None, priority="normal", note="Customer seems stuck", replies=1):
    """A thread by a customer, with replies, escalated by a moderator. Returns (ticket, thread, customer, moderator)."""
    customer = make.user("customer")
    moderator = moderator or make.user("mod", role="moderator")
    thread = make.thread(author=customer, tags=["billing"])
    for i in range(replies):
        make.reply(thread, body=f"Community suggestion number {i}")
    ticket = escalation.escalate(thread, moderator, priority, note)
    db.session.commit()
    return ticket, thread, customer, moderator


def ask_session_for(thread, user, queries):
    """Record an ask session in which ``user`` searched ``queries`` and then posted ``thread``."""
    session = AskSession(id=f"s{thread.id}x", visitor_id="v1", user_id=user.id, page="ask")
    db.session.add(session)
    db.session.flush()
    for q in queries:
        db.session.add(AskEvent(session_id=session.id, kind="suggestions_shown", query=q, result_ids=[]))
    db.session.add(AskEvent(session_id=session.id, kind="question_posted", thread_id=thread.id))
    db.session.commit()
    return session
