"""Demo content: realistic, consistent with the rules, one account per role, seeded once only."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from community.demo import seed as demo_seed
from community.models import ROLES, Category, Post, Thread, User, Vote
from community.services.accounts import users
from community.services.forum import reputation


def test_seed_via_cli_once_and_never_twice(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "Seeded 50 threads" in first.output
    for username, role, password in demo_seed.DEMO_ACCOUNTS:
        assert f"{username:<10} password: {password}" in first.output
    counts = [db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in (User, Thread, Post, Vote)]
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0 and "nothing seeded" in second.output
    assert [db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in (User, Thread, Post, Vote)] == counts

    # --- what was seeded -------------------------------------------------------------
    threads = db.session.execute(select(Thread)).scalars().all()
    assert len(threads) == 50
    assert db.session.execute(select(func.count()).select_from(Category)).scalar_one() == 5
    per_category = db.session.execute(select(Thread.category_id, func.count()).group_by(Thread.category_id)).all()
    assert all(n >= 8 for _, n in per_category)
    unanswered = [t for t in threads if t.reply_count == 0]
    solved = [t for t in threads if t.solved]
    several = [t for t in threads if t.reply_count >= 2]
    assert 3 <= len(unanswered) <= 10 and len(solved) >= 25 and len(several) >= 15
    assert db.session.execute(select(func.count()).select_from(Vote)).scalar_one() > 150
    assert len({t.title for t in threads}) == 50

    # one account per role, passwords as printed (and in the README)
    readme = (app.root_path + "/../README.md")
    readme_text = open(readme, encoding="utf-8").read()
    assert {u.role for u in db.session.execute(select(User)).scalars()} == set(ROLES)
    for username, role, password in demo_seed.DEMO_ACCOUNTS:
        assert users.authenticate(username, password).role == role
        assert re.search(rf"\|\s*`{username}`\s*\|\s*`{password}`\s*\|", readme_text), username

    # reputation, counters and the ledger agree
    assert reputation.recompute_all() == 0
    for thread in threads:
        live = [p for p in thread.posts if not p.is_question and not p.deleted]
        assert thread.reply_count == len(live)
        question = db.session.get(Post, thread.question_post_id)
        assert thread.score == question.score


def test_seeded_site_pages_render(app, db, client):
    demo_seed.seed()
    db.session.commit()
    assert client.get("/").status_code == 200
    for category in db.session.execute(select(Category)).scalars():
        assert client.get(f"/categories/{category.slug}").status_code == 200
    thread = db.session.execute(select(Thread).where(Thread.accepted_post_id.is_not(None))).scalars().first()
    assert "✓ Accepted answer" in client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert client.get("/users/alice").status_code == 200


def test_an_agent_finds_demo_tickets_in_the_queue(app, db, client):
    """The agent's queue is what the demo is for: an escalated thread with its context, a contact
    request answered and waiting for the customer, and a guest's request nobody has taken."""
    demo_seed.seed()
    db.session.commit()
    client.post("/login", data={"login": "agent", "password": "agent-demo-pass"})
    page = client.get("/tickets").get_data(as_text=True)
    for title in ("Cancelled my trial but was still charged", "Our invoices still show our old company name",
                  "Two-factor codes from my old phone no longer arrive"):
        assert title in page
    from community.models import Ticket

    tickets = {t.subject: t for t in db.session.execute(select(Ticket)).scalars()}
    escalated = tickets["Cancelled my trial but was still charged"]
    assert (escalated.source, escalated.priority, escalated.thread_id is not None) == ("escalation", "high", True)
    answered = tickets["Our invoices still show our old company name"]
    assert answered.status == "pending" and answered.first_response_at - answered.created_at == timedelta(hours=4)
    # Alice sees her ticket and the agent's answer under My tickets.
    client.post("/logout")
    client.post("/login", data={"login": "alice", "password": "alice-demo-pass"})
    mine = client.get(f"/my/tickets/{answered.id}").get_data(as_text=True)
    assert "Which invoice numbers do you need reissued?" in mine
