"""Ticket life: transitions, priority, assignee, notes, official replies, notifications."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from tests.tickets.support import escalated

from community.models import AuditEntry, Notification, Post, Ticket, TicketEvent
from community.services.errors import Conflict, ValidationError
from community.services.tickets import workflow

STATUSES = ("open", "pending", "solved", "closed")
ALLOWED = {("open", "pending"), ("open", "solved"), ("open", "closed"), ("pending", "open"),
           ("pending", "solved"), ("pending", "closed"), ("solved", "open"), ("solved", "closed"),
           ("closed", "open")}


@pytest.mark.parametrize("old,new", [p for p in itertools.product(STATUSES, STATUSES) if p[0] != p[1]])
def test_transition_table(db, make, old, new):
    ticket, *_ = escalated(make)
    agent = make.user("agent", role="agent")
    ticket.status = old
    db.session.commit()
    if (old, new) in ALLOWED:
        workflow.update(agent, ticket, status=new)
        db.session.commit()
        assert ticket.status == new
        event = db.session.execute(select(TicketEvent).where(TicketEvent.kind == "status")).scalar_one()
        assert (event.old_value, event.new_value, event.public) == (old, new, True)
    else:
        with pytest.raises(ValidationError) as err:
            workflow.update(agent, ticket, status=new)
        assert err.value.field == "status"


def test_solved_at_and_reopen(db, make):
    ticket, *_ = escalated(make)
    agent = make.user("agent", role="agent")
    workflow.update(agent, ticket, status="solved")
    assert ticket.solved_at is not None
    workflow.update(agent, ticket, status="open")
    assert ticket.solved_at is None and ticket.status == "open"


def test_bad_values_name_the_field(db, make):
    ticket, *_ = escalated(make)
    agent = make.user("agent", role="agent")
    member = make.user("plain")
    for kwargs, field in (({"status": "done"}, "status"), ({"priority": "asap"}, "priority"),
                          ({"assignee": "nobody-here"}, "assignee"),
                          ({"assignee": member.username}, "assignee")):
        with pytest.raises(ValidationError) as err:
            workflow.update(agent, ticket, **kwargs)
        assert err.value.field == field
    # nothing half-applied: a valid priority with an invalid assignee changes nothing
    with pytest.raises(ValidationError):
        workflow.update(agent, ticket, priority="urgent", assignee="nobody-here")
    assert ticket.priority == "normal"


def test_assign_priority_and_audit(db, make):
    ticket, *_ = escalated(make)
    agent = make.user("agent", role="agent")
    admin = make.user("boss", role="admin")
    workflow.update(agent, ticket, assignee=admin.username, priority="high")
    db.session.commit()
    assert ticket.assignee_id == admin.id and ticket.priority == "high"
    workflow.update(agent, ticket, assignee=None)
    db.session.commit()
    assert ticket.assignee_id is None
    actions = [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert actions == ["thread.escalate", "ticket.priority", "ticket.assignee", "ticket.assignee"]
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "ticket.priority")).scalar_one()
    assert entry.before == {"priority": "normal"} and entry.after == {"priority": "high"}
    assert entry.actor_id == agent.id and entry.target_id == ticket.id


def test_public_reply_is_official_post_and_notifies(db, make):
    ticket, thread, customer, _ = escalated(make)
    agent = make.user("agent", role="agent")
    event = workflow.add_public_reply(agent, ticket, "Please update to version 2.3, it fixes this.")
    db.session.commit()
    post = db.session.get(Post, event.post_id)
    assert post.is_official and post.thread_id == thread.id and post.author_id == agent.id
    assert ticket.first_response_at is not None
    kinds = [n.kind for n in db.session.execute(
        select(Notification).where(Notification.user_id == customer.id,
                                   Notification.post_id == post.id)).scalars()]
    assert kinds == ["ticket_reply"]  # one notification for the official post, the ticket one
    audit = db.session.execute(select(AuditEntry).where(AuditEntry.action == "ticket.reply")).scalar_one()
    assert audit.after == {"post_id": post.id}


def test_status_change_notifies_requester(db, make):
    ticket, thread, customer, _ = escalated(make)
    agent = make.user("agent", role="agent")
    workflow.update(agent, ticket, status="pending")
    db.session.commit()
    notes = list(db.session.execute(select(Notification).where(
        Notification.user_id == customer.id, Notification.kind == "ticket_status")).scalars())
    # one for the escalation itself, one for "pending"
    assert len(notes) == 2 and "pending" in notes[-1].message
    assert notes[-1].url.startswith(f"/threads/{thread.id}")


def test_internal_note_does_not_notify(db, make):
    ticket, thread, customer, _ = escalated(make)
    agent = make.user("agent", role="agent")
    before = db.session.execute(select(Notification.id)).all()
    workflow.add_note(agent, ticket, "Looks like the bug in JIRA-123")
    db.session.commit()
    assert db.session.execute(select(Notification.id)).all() == before


def test_solve_and_accept_official_response(db, make):
    ticket, thread, customer, _ = escalated(make)
    agent = make.user("agent", role="agent")
    event = workflow.add_public_reply(agent, ticket, "Switch the region to EU and retry.")
    db.session.commit()
    community_post = thread.posts[1]
    with pytest.raises(ValidationError) as err:  # only this ticket's official responses
        workflow.update(agent, ticket, status="solved", accept_post_id=community_post.id)
    assert err.value.field == "accept_post_id"
    db.session.rollback()
    with pytest.raises(ValidationError):  # only when solving
        workflow.update(agent, ticket, status="pending", accept_post_id=event.post_id)
    db.session.rollback()
    workflow.update(agent, ticket, status="solved", accept_post_id=event.post_id)
    db.session.commit()
    assert thread.accepted_post_id == event.post_id and thread.solved
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "ticket.accept")).scalar_one()
    assert "accepted" in [e.kind for e in ticket.events]


def test_contact_ticket_signature_and_reply_without_thread(db, make):
    user = make.user("asker")
    from community.models import AskEvent, AskSession

    db.session.add(AskSession(id="sess1", visitor_id="v", user_id=user.id, page="contact"))
    db.session.flush()
    db.session.add_all([AskEvent(session_id="sess1", kind="suggestions_shown", query="refund card"),
                        AskEvent(session_id="sess1", kind="suggestions_shown", query="refund card"),
                        AskEvent(session_id="sess1", kind="suggestions_shown", query="charged twice")])
    ticket = workflow.open_ticket(source="contact", subject="I was charged twice", body="Help please",
                                 requester=user, ask_session_id="sess1")
    db.session.commit()
    assert ticket.context["search_queries"] == ["refund card", "charged twice"]
    agent = make.user("agent", role="agent")
    event = workflow.add_public_reply(agent, ticket, "We refunded the second charge.")
    db.session.commit()
    assert event.post_id is None
    note = db.session.execute(select(Notification).where(Notification.kind == "ticket_reply")).scalar_one()
    assert note.user_id == user.id and note.url == f"/my/tickets/{ticket.id}"


def test_reopen_refused_when_thread_has_another_active_ticket(db, make):
    from community.services.tickets import escalation

    ticket, thread, customer, moderator = escalated(make)
    agent = make.user("agent", role="agent")
    workflow.update(agent, ticket, status="closed")
    db.session.commit()
    second = escalation.escalate(thread, moderator, "high", None)
    db.session.commit()
    with pytest.raises(Conflict):
        workflow.update(agent, ticket, status="open")
    db.session.rollback()
    assert db.session.get(Ticket, second.id).status == "open"
