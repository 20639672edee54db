"""The unresolved queue and escalation's context snapshot."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select
from tests.tickets.support import ask_session_for, escalated

from community.models import AuditEntry, Flag, Notification, Ticket, TicketEvent, utcnow
from community.services.errors import Conflict
from community.services.forum import threads, votes
from community.services.tickets import escalation, workflow


def _age(db, thread, **delta):
    thread.created_at = utcnow() - timedelta(**delta)
    db.session.commit()


def _queue_ids(**kw):
    rows, total = escalation.unresolved(**kw)
    return [t.id for t, _ in rows], {t.id: why for t, why in rows}, total


def test_unresolved_criteria(app, db, make):
    fresh = make.thread()                                   # too young: not listed
    quiet = make.thread(); _age(db, quiet, hours=30)          # no reply after 24 h
    answered = make.thread(); make.reply(answered); _age(db, answered, hours=30)  # has a reply
    stale = make.thread(); make.reply(stale); _age(db, stale, days=8)  # no accepted answer after 7 days
    solved = make.thread(); post = make.reply(solved); _age(db, solved, days=8)
    from community.services.forum import accepting
    accepting.accept(solved.author, solved, post); db.session.commit()
    flagged = make.thread(); make.reply(flagged)
    flagger = make.user("flagger")
    db.session.add(Flag(post_id=flagged.question_post_id, thread_id=flagged.id, user_id=flagger.id,
                        reason="needs_moderator"))
    spam_flagged = make.thread()
    db.session.add(Flag(post_id=spam_flagged.question_post_id, thread_id=spam_flagged.id,
                        user_id=flagger.id, reason="spam"))
    db.session.commit()
    ids, why, total = _queue_ids()
    assert set(ids) == {quiet.id, stale.id, flagged.id} and total == 3
    assert why[quiet.id] == ["no_reply"]
    assert why[stale.id] == ["no_accept"]
    assert why[flagged.id] == ["flagged"]
    assert fresh.id not in ids and answered.id not in ids and solved.id not in ids

    # a resolved flag no longer counts; X and Y are configurable
    db.session.execute(select(Flag)).scalars().first().resolved_at = utcnow()
    db.session.commit()
    app.config["UNRESOLVED_NO_REPLY_HOURS"] = 48
    app.config["UNRESOLVED_NO_ACCEPT_DAYS"] = 30
    assert _queue_ids()[0] == []


def test_escalated_threads_leave_the_queue_until_closed(db, make):
    thread = make.thread(); _age(db, thread, hours=30)
    moderator = make.user(role="moderator")
    agent = make.user(role="agent")
    ticket = escalation.escalate(thread, moderator); db.session.commit()
    assert _queue_ids()[0] == []
    workflow.update(agent, ticket, status="closed"); db.session.commit()
    assert _queue_ids()[0] == [thread.id]


def test_unresolved_sorting(db, make):
    a, b, c = make.thread(), make.thread(), make.thread()
    _age(db, a, hours=100); _age(db, b, hours=50); _age(db, c, hours=30)
    a.view_count, b.view_count, c.view_count = 5, 50, 10
    a.score, b.score, c.score = 1, 2, 9
    db.session.commit()
    assert _queue_ids(sort="age")[0] == [a.id, b.id, c.id]
    assert _queue_ids(sort="views")[0] == [b.id, c.id, a.id]
    assert _queue_ids(sort="votes")[0] == [c.id, b.id, a.id]


def test_unresolved_queue_query_count_does_not_grow(app, db, make):
    def count_for(n):
        for _ in range(n):
            t = make.thread(tags=["x", "y"]); _age(db, t, hours=30)
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            escalation.unresolved()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)
    small = count_for(2)
    large = count_for(10)
    assert small == large <= 5  # page + author/category/tag select-ins + count


def test_snapshot_has_the_whole_context(db, make):
    customer = make.user("customer")
    moderator = make.user("mod", role="moderator")
    voter = make.user("voter", reputation=500)
    thread = make.thread(author=customer, tags=["billing", "refunds"],
                         body="My invoice shows the wrong VAT number since March.")
    good = make.reply(thread, body="Check Settings > Billing > Tax ID.")
    hidden = make.reply(thread, body="Buy my cheap pills")
    hidden.hidden = True
    votes.set_vote(voter, good, 1)
    thread.view_count = 42
    db.session.commit()
    ask_session_for(thread, customer, ["vat number wrong", "invoice tax id", "vat number wrong"])
    ticket = escalation.escalate(thread, moderator, "high", "Tried twice, still wrong")
    db.session.commit()

    ctx = ticket.context
    assert ticket.source == "escalation" and ticket.requester_id == customer.id
    assert ticket.priority == "high" and ticket.thread_id == thread.id
    assert ticket.subject == thread.title
    assert ctx["question"]["body"] == "My invoice shows the wrong VAT number since March."
    assert ctx["author"]["username"] == "customer"
    assert ctx["category"]["name"] == thread.category.name
    assert ctx["tags"] == ["billing", "refunds"]
    assert ctx["thread"]["views"] == 42 and ctx["thread"]["votes"] == thread.score
    assert [r["body"] for r in ctx["replies"]] == ["Check Settings > Billing > Tax ID."]  # hidden left out
    assert ctx["replies"][0]["score"] == 1 and ctx["replies"][0]["author"] == good.author.username
    assert ctx["replies"][0]["created_at"].endswith("Z")
    assert ctx["search_queries"] == ["vat number wrong", "invoice tax id"]
    assert ticket.ask_session_id == ctx["ask_session_id"]
    # the snapshot does not change when the thread does
    threads.add_reply(make.user(), thread, "A later reply"); db.session.commit()
    assert len(db.session.get(Ticket, ticket.id).context["replies"]) == 1

    note = db.session.execute(select(TicketEvent).where(TicketEvent.kind == "note")).scalar_one()
    assert note.body == "Tried twice, still wrong" and note.public is False
    audit = db.session.execute(select(AuditEntry)).scalar_one()
    assert (audit.action, audit.target_type, audit.target_id, audit.actor_id) == (
        "thread.escalate", "thread", thread.id, moderator.id)
    assert audit.after == {"ticket_id": ticket.id, "priority": "high"}
    told = db.session.execute(select(Notification).where(Notification.user_id == customer.id,
                                                         Notification.kind == "ticket_status")).scalar_one()
    assert "escalated" in told.message


def test_snapshot_without_ask_session(db, make):
    ticket, *_ = escalated(make)
    assert ticket.context["search_queries"] == [] and ticket.ask_session_id is None


def test_second_escalation_conflicts(db, make):
    ticket, thread, customer, moderator = escalated(make)
    with pytest.raises(Conflict):
        escalation.escalate(thread, moderator)
    db.session.rollback()
    assert len(db.session.execute(select(Ticket)).all()) == 1


def test_unique_index_stops_a_racing_second_ticket(db, make):
    """Even if the check is bypassed (two requests at once), the database refuses a second active ticket."""
    ticket, thread, customer, moderator = escalated(make)
    from community.services.tickets.escalation import active_ticket

    original = escalation.active_ticket
    escalation.active_ticket = lambda thread_id: None
    try:
        with pytest.raises(Conflict):
            escalation.escalate(thread, moderator)
    finally:
        escalation.active_ticket = original
    db.session.rollback()
    assert active_ticket(thread.id).id == ticket.id


def test_escalation_resolves_needs_moderator_flags(db, make):
    thread = make.thread()
    flagger = make.user("flagger")
    db.session.add(Flag(post_id=thread.question_post_id, thread_id=thread.id, user_id=flagger.id,
                        reason="needs_moderator"))
    db.session.commit()
    assert _queue_ids()[0] == [thread.id]
    moderator = make.user(role="moderator")
    agent = make.user(role="agent")
    ticket = escalation.escalate(thread, moderator)
    db.session.commit()
    flag = db.session.execute(select(Flag)).scalar_one()
    assert flag.resolved_at is not None and flag.outcome == "escalated"
    workflow.update(agent, ticket, status="closed")
    db.session.commit()
    assert _queue_ids()[0] == []  # closed ticket, but the attention flag was handled
