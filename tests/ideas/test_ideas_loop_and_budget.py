"""Closing the loop on delivery or decline, and vote budgets (IDEA_VOTE_BUDGET)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.models import Notification, Post
from community.services.errors import Conflict
from community.services.ideas import budget, exchange, links, merging
from community.services.tickets import workflow

RESPONSE = "Shipped in 4.2: the app now keeps your notes offline."


@pytest.fixture()
def linked_idea(make, db):
    agent, product = make.user("agent", role="agent"), make.user("pmteam", role="product")
    voter, asker, requester, follower = (make.user(n) for n in ("voter", "asker", "requester", "follower"))
    category = make.category("Mobile App")
    idea = exchange.create_idea(make.user("proposer"), category, "Offline mode for the mobile app",
                                "Read and edit notes without a connection.")
    exchange.set_vote(voter, idea, 1)
    exchange.set_vote(asker, idea, 1)                 # the asker also voted: notified once
    exchange.follow(follower, idea)
    thread = make.thread(author=asker, category=category, title="Can I use the app on a plane offline?")
    other_thread = make.thread(author=make.user("asker2"), category=category, title="Offline notes in the tube?")
    deleted = make.thread(author=make.user("spammer"), category=category, title="Buy offline pills cheap now")
    ticket = workflow.open_ticket(source="contact", subject="Offline access for field staff",
                                  body="We need it.", requester=requester)
    guest = workflow.open_ticket(source="contact", subject="Offline?", body="Please.", requester_name="Guest",
                                 requester_email="guest@example.com")
    for t in (thread, other_thread, deleted):
        links.link_thread(agent, idea, t)
    links.link_ticket(agent, idea, ticket)
    links.link_ticket(agent, idea, guest)
    deleted.deleted = True
    db.session.commit()
    return {"idea": idea, "product": product, "thread": thread, "other_thread": other_thread,
            "deleted": deleted, "people": {"proposer", "voter", "asker", "follower", "asker2", "requester"}}


@pytest.mark.parametrize("status", ["delivered", "declined"])
def test_closing_posts_the_response_in_every_linked_thread_and_notifies_everyone_once(status, linked_idea, db):
    idea, product = linked_idea["idea"], linked_idea["product"]
    exchange.change_status(product, idea, status, RESPONSE)
    db.session.commit()
    for key in ("thread", "other_thread"):
        post = db.session.execute(select(Post).where(Post.thread_id == linked_idea[key].id,
                                                     Post.is_question.is_(False))).scalar_one()
        assert post.is_official and post.author_id == product.id
        assert RESPONSE in post.body and idea.title in post.body
    assert db.session.execute(select(func.count()).select_from(Post).where(
        Post.thread_id == linked_idea["deleted"].id, Post.is_question.is_(False))).scalar_one() == 0
    rows = db.session.execute(select(Notification.user_id, func.count()).where(Notification.kind == "idea_status")
                              .group_by(Notification.user_id)).all()
    from community.models import User

    names = {db.session.get(User, uid).username: n for uid, n in rows}
    assert names == dict.fromkeys(linked_idea["people"], 1)      # each person once; not the actor, not the spammer


def test_other_status_changes_do_not_reply_in_threads(linked_idea, db):
    exchange.change_status(linked_idea["product"], linked_idea["idea"], "planned", "Planned for the summer release.")
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(Post)
                              .where(Post.is_question.is_(False))).scalar_one() == 0
    notified = set(db.session.execute(select(Notification.user_id).where(Notification.kind == "idea_status")).scalars())
    assert len(notified) == 4    # voters and followers only: proposer, voter, asker, follower


def test_closing_through_the_api(linked_idea, db, client, token_for):
    idea = linked_idea["idea"]
    resp = client.post(f"/api/v1/ideas/{idea.id}/status", headers=token_for(linked_idea["product"]),
                       json={"status": "delivered", "response": RESPONSE})
    assert resp.status_code == 200
    assert linked_idea["thread"].reply_count == 1 and linked_idea["other_thread"].reply_count == 1


# -- vote budgets ---------------------------------------------------------------------------------

@pytest.fixture()
def budget_of_two(app):
    app.config["IDEA_VOTE_BUDGET"] = 2
    yield 2
    app.config["IDEA_VOTE_BUDGET"] = None


def _ideas(make, db, n):
    author = make.user()
    category = make.category()
    made = [exchange.create_idea(author, category, f"Idea number {i} for the budget test", "Something useful for many of us.")
            for i in range(n)]
    db.session.commit()
    return made


def test_budget_off_by_default(make, db):
    voter = make.user()
    for idea in _ideas(make, db, 5):
        exchange.set_vote(voter, idea, 1)
    assert budget.votes_left(voter) is None and budget.active_votes(voter.id) == 5


def test_budget_limits_and_returns_votes(budget_of_two, make, db):
    a, b, c, d = _ideas(make, db, 4)
    voter, product = make.user(), make.user(role="product")
    exchange.set_vote(voter, a, 1)
    exchange.set_vote(voter, b, 1)
    exchange.set_vote(voter, b, 1)          # the same vote again spends nothing
    db.session.commit()
    assert budget.votes_left(voter) == 0
    before = exchange.current_votes(c.id)
    with pytest.raises(Conflict) as refused:
        exchange.set_vote(voter, c, 1)
    db.session.rollback()
    assert refused.value.code == "vote_budget" and exchange.current_votes(c.id) == before
    assert not exchange.has_voted(voter, c)
    exchange.set_vote(voter, b, 0)          # withdrawing frees one
    exchange.set_vote(voter, c, 1)
    db.session.commit()
    exchange.change_status(product, a, "delivered", "Shipped it last week, enjoy.")   # delivered: back
    db.session.commit()
    assert budget.votes_left(voter) == 1
    exchange.set_vote(voter, d, 1)
    db.session.commit()
    assert budget.votes_left(voter) == 0
    merging.merge(product, d, b)            # merged away: the vote moves to b, and comes back
    db.session.commit()
    assert exchange.has_voted(voter, b) and budget.votes_left(voter) == 1


def test_declined_returns_the_vote(budget_of_two, make, db):
    a, b, c = _ideas(make, db, 3)
    voter = make.user()
    exchange.set_vote(voter, a, 1)
    exchange.set_vote(voter, b, 1)
    exchange.change_status(make.user(role="product"), a, "declined", "Not a fit for the product.")
    exchange.set_vote(voter, c, 1)
    db.session.commit()
    assert budget.active_votes(voter.id) == 2


def test_budget_through_the_api_and_pages(budget_of_two, make, db, client, token_for, login):
    a, b, c = _ideas(make, db, 3)
    voter = make.user()
    h = token_for(voter)
    for idea in (a, b):
        assert client.post(f"/api/v1/ideas/{idea.id}/vote", headers=h, json={"value": 1}).status_code == 200
    refused = client.post(f"/api/v1/ideas/{c.id}/vote", headers=h, json={"value": 1})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "vote_budget"
    assert client.get(f"/api/v1/ideas/{c.id}", headers=h).json["votes_left"] == 0
    login(voter)
    page = client.get(f"/ideas/{c.id}/{c.slug}").data.decode()
    assert "Your votes left" in page and "0 of 2" in page
    assert "You have 0 votes left of 2" in client.get("/ideas").data.decode()


def test_an_author_out_of_votes_still_posts_the_idea(budget_of_two, make, db):
    a, b = _ideas(make, db, 2)
    author = make.user()
    for idea in (a, b):
        exchange.set_vote(author, idea, 1)
    idea = exchange.create_idea(author, a.category, "Yet another idea from the same person", "It is useful for many of us too.")
    db.session.commit()
    assert idea.vote_count == 0 and exchange.is_following(author, idea)


def test_a_bad_budget_setting_stops_the_start(tmp_path):
    from community import create_app

    with pytest.raises(ValueError, match="IDEA_VOTE_BUDGET"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "IDEA_VOTE_BUDGET": "three"})
