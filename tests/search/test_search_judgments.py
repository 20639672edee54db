"""Learned evidence from judgments (issue 16, ``services/learning/judgments.py``): an accepted
answer linking to another thread makes the question's title a vote for it, an idea linked to a
thread makes the idea's title one; both go when their source goes, never for hidden threads,
never from ticket links, and ``flask search learn`` rebuilds them from the rows.  Through the
pages (accept, link, unlink) on both search backends."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from community import search
from community.models import SearchEvidence
from community.services.ideas import exchange, links
from community.services.moderation import actions as moderation

ASKED = "Receipts vanish from my dashboard"


@pytest.fixture()
def world(make, db):
    asker = make.user("asker")
    target = make.thread(title="Billing history only shows this year",
                         body="Older invoices are archived after twelve months; open Archive to see them.")
    question = make.thread(author=asker, title=ASKED, body="Where did last year's stuff go?")
    answer = make.reply(question, body=f"Answered here: [billing history](/threads/{target.id}/billing-history).")
    return asker, target, question, answer


def votes(db):
    return db.session.execute(select(SearchEvidence.thread_id, SearchEvidence.voter, SearchEvidence.source,
                                     SearchEvidence.words).order_by(SearchEvidence.id)).all()


def ids(query):
    return [hit["id"] for hit in search.suggest(query, types=("thread",))]


def test_an_accepted_answer_linking_elsewhere_makes_the_title_ask_for_that_thread(world, db, client, login):
    asker, target, question, answer = world
    assert target.id not in ids("receipts vanish dashboard")
    login(asker)
    assert client.post(f"/threads/{question.id}/accept", data={"post_id": answer.id}).status_code == 302
    assert votes(db) == [(target.id, f"accepted:{question.id}", "accepted", ASKED)]
    assert target.id in ids("receipts vanish dashboard")  # the learned field found it
    assert client.post(f"/threads/{question.id}/accept", data={}).status_code == 302  # withdrawn
    assert votes(db) == []
    assert target.id not in ids("receipts vanish dashboard")


def test_no_vote_for_a_hidden_thread_and_learn_rebuilds_from_the_rows(world, db, make, client, login):
    asker, target, question, answer = world
    login(asker)
    client.post(f"/threads/{question.id}/accept", data={"post_id": answer.id})
    db.session.execute(SearchEvidence.__table__.delete())
    db.session.commit()
    runner = client.application.test_cli_runner()
    assert ", 1 from accepted answers and ideas" in runner.invoke(args=["search", "learn"]).output
    assert votes(db) == [(target.id, f"accepted:{question.id}", "accepted", ASKED)]
    moderation.hide_thread(make.user("mod", role="moderator"), target, "spam")
    db.session.commit()
    assert ", 0 from accepted answers and ideas" in runner.invoke(args=["search", "learn"]).output
    assert votes(db) == []


def test_an_answer_linking_to_its_own_thread_or_nowhere_teaches_nothing(make, db, client, login):
    asker = make.user("asker")
    question = make.thread(author=asker, title=ASKED)
    own = make.reply(question, body=f"See [above](/threads/{question.id}/x#post-1) and https://example.com/threads/9.")
    login(asker)
    assert client.post(f"/threads/{question.id}/accept", data={"post_id": own.id}).status_code == 302
    assert votes(db) == []


def test_an_idea_linked_to_a_thread_makes_its_title_ask_for_it(world, make, db, client, login):
    _asker, target, _question, _answer = world
    idea = exchange.create_idea(make.user("wisher"), target.category, "Keep every invoice visible forever",
                                "Archiving hides them.")
    db.session.commit()
    agent = make.user("agent", role="agent")
    login(agent)
    assert client.post(f"/threads/{target.id}/idea-link", data={"idea": str(idea.id)}).status_code == 302
    assert votes(db) == [(target.id, f"idea:{idea.id}", "idea", "Keep every invoice visible forever")]
    link = links.links(idea)[0]
    assert client.post(f"/ideas/{idea.id}/links/{link.id}/delete").status_code == 302
    assert votes(db) == []
