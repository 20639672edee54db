"""Closing the loop, the edges: each person's channel preference for ideas (email at once with
the response, the digest, on the site only, off) through a real SMTP server; a guest requester
whose email is an account's; a linked thread merged into another; a status set twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from community.models import IdeaStatusChange, Notification, Post, ReputationEvent, utcnow
from community.services.accounts import preferences
from community.services.ideas import exchange, links
from community.services.mail import digest, outbox
from community.services.moderation import merging as thread_merging
from community.services.tickets import workflow

RESPONSE = "Shipped in 4.2: notes stay on the phone, *offline*, and sync when you are back."


@pytest.fixture()
def scene(make, db):
    """An idea; people behind it with each channel for "idea"; linked threads and tickets."""
    agent, product = make.user("agent", role="agent"), make.user("pmteam", role="product")
    names = ("proposer", "emailed", "digested", "siteonly", "silenced", "bob")
    people = {n: make.user(n) for n in names}
    for name, choice in (("emailed", "immediately"), ("siteonly", "never"), ("silenced", "off"),
                         ("bob", "immediately"), ("proposer", "never")):
        preferences.set_choice(people[name].id, "idea", choice)
    category = make.category("Mobile App")
    idea = exchange.create_idea(people["proposer"], category, "Offline mode for the mobile app",
                                "Read and edit notes without a connection.")
    exchange.set_vote(people["emailed"], idea, 1)
    exchange.follow(people["silenced"], idea)
    asked = make.thread(author=people["digested"], category=category, title="Can I use the app on a plane?")
    links.link_thread(agent, idea, asked)
    links.link_ticket(agent, idea, workflow.open_ticket(
        source="contact", subject="Offline for field staff", body="We need it.", requester=people["siteonly"]))
    links.link_ticket(agent, idea, workflow.open_ticket(      # bob's address, written in without signing in
        source="contact", subject="Offline?", body="Please.", requester_name="Bob", requester_email="Bob@Example.com"))
    links.link_ticket(agent, idea, workflow.open_ticket(      # a guest with no account
        source="contact", subject="Offline", body="Please.", requester_name="Gus", requester_email="gus@example.org"))
    db.session.commit()
    return {"idea": idea, "product": product, "people": people, "asked": asked, "agent": agent}


def _notified(db) -> dict[str, int]:
    from community.models import User

    rows = db.session.execute(select(Notification.user_id, func.count()).where(Notification.kind == "idea_status")
                              .group_by(Notification.user_id)).all()
    return {db.session.get(User, uid).username: n for uid, n in rows}


def test_delivery_reaches_each_person_by_the_channel_they_chose(scene, db, smtp):
    exchange.change_status(scene["product"], scene["idea"], "delivered", RESPONSE)
    db.session.commit()
    # Off: nothing at all; everyone else once in-app (bob through the guest ticket with his address).
    assert _notified(db) == {"proposer": 1, "emailed": 1, "digested": 1, "siteonly": 1, "bob": 1}
    outbox.send_due(outbox.worker_name())
    mails = {m["To"]: m for m in smtp.inbox.messages}
    assert set(mails) == {"emailed@example.com", "bob@example.com"}    # email at once; not the guest gus
    mail = mails["emailed@example.com"]
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    assert mail["Subject"] == "“Offline mode for the mobile app” is now delivered"
    assert "The official response:" in text and RESPONSE in text
    assert "notes stay on the phone, *offline*" in html
    assert f"/ideas/{scene['idea'].id}/" in text and "#response" in text
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The digest lists it for the one who chose the digest (the default), not for the others.
    smtp.inbox.raw.clear()
    with freeze_time(utcnow() + timedelta(hours=1)):
        digest.build()
        outbox.send_due(outbox.worker_name())
    digests = {m["To"]: m.get_body(("plain",)).get_content() for m in smtp.inbox.messages}
    assert "“Offline mode for the mobile app” is now delivered" in digests["digested@example.com"]
    assert not any("is now delivered" in body for to, body in digests.items() if to != "digested@example.com")


def test_a_linked_thread_merged_into_another_gets_the_response_where_it_went(scene, make, db):
    idea, agent = scene["idea"], scene["agent"]
    target = make.thread(author=make.user("other"), category=idea.category, title="Offline use of the app")
    also = make.thread(author=make.user("third"), category=idea.category, title="Airplane mode support")
    links.link_thread(agent, idea, target)
    links.link_thread(agent, idea, also)
    thread_merging.merge(agent, scene["asked"], target.id)        # asked -> target: both linked
    thread_merging.merge(agent, also, target.id)
    db.session.commit()
    exchange.change_status(scene["product"], idea, "declined", "Not this year: the sync engine cannot do it.")
    db.session.commit()
    official = db.session.execute(select(Post.thread_id).where(Post.is_official.is_(True))).scalars().all()
    assert official == [target.id]                                  # once, in the live thread
    assert _notified(db)["digested"] == 1                           # the merged thread's asker still hears


def test_delivered_twice_posts_once_and_the_same_submit_again_changes_nothing(scene, db):
    idea, product = scene["idea"], scene["product"]
    exchange.change_status(product, idea, "delivered", RESPONSE)
    db.session.commit()
    before = _notified(db)
    again = exchange.change_status(product, idea, "delivered", RESPONSE)      # a double submit
    db.session.commit()
    changes = db.session.execute(select(IdeaStatusChange).where(IdeaStatusChange.idea_id == idea.id)
                                 .order_by(IdeaStatusChange.id)).scalars().all()
    assert again.id == changes[-1].id and [c.new_status for c in changes] == ["delivered"]
    assert _notified(db) == before
    exchange.change_status(product, idea, "delivered", "Also on Android since this morning.")   # a new response
    db.session.commit()
    assert [c.new_status for c in db.session.execute(select(IdeaStatusChange).where(
        IdeaStatusChange.idea_id == idea.id)).scalars()] == ["delivered", "delivered"]
    assert db.session.execute(select(func.count()).select_from(Post)
                              .where(Post.is_official.is_(True))).scalar_one() == 1      # no second reply
    assert db.session.execute(select(func.count()).select_from(ReputationEvent)
                              .where(ReputationEvent.reason == "idea_delivered")).scalar_one() == 1
