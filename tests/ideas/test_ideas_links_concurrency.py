"""Links and closing the loop under concurrency, against gunicorn on SQLite and PostgreSQL.

The same request ten times at once changes state once and never answers 5xx: linking a thread
(one row, one 201 and nine 200s with the same link, one audit entry), removing that link (one
204, nine 404s), setting "delivered" with its response (one status change, one official reply
per linked thread, one notification per person, one delivered bonus), then ten different
responses at once (ten responses, still no second reply in any thread).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.platform.live_server import GUNICORN, Client, app_on, burst, database, gunicorn, server_config

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed in this environment")]

TIMES = 10
RESPONSE = "Shipped in 4.2: the app keeps your notes offline."


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    with database(request.param, tmp_path, "ideas_links_conc") as url:
        yield url


def _prepare(database_url: str, tmp_path: Path) -> dict:
    """An idea with a voter; two linked threads and one to link; an agent and a product member."""
    from community.services.accounts import users
    from community.services.forum import threads
    from community.services.ideas import exchange, links

    with app_on(database_url, tmp_path, create=True) as db:
        agent = users.create_user("agent", "agent@example.com", "password123", role="agent")
        product = users.create_user("pmteam", "pm@example.com", "password123", role="product")
        author, voter = (users.create_user(n, f"{n}@example.com", "password123") for n in ("author", "voter"))
        category = threads.create_category("Mobile App", "")
        idea = exchange.create_idea(author, category, "Offline mode for the mobile app",
                                    "Let me read and edit my notes without a connection.")
        exchange.set_vote(voter, idea, 1)
        asked = [threads.create_thread(users.create_user(f"asker{n}", f"asker{n}@example.com", "password123"),
                                       category, f"Can the app work offline on a plane, case {n}?",
                                       "I need my notes on the plane without wifi.") for n in range(2)]
        for thread in asked:
            links.link_thread(agent, idea, thread)
        loose = threads.create_thread(voter, category, "Offline notes on the underground?",
                                      "No signal between stations, I need my notes.")
        db.session.commit()
        info = {"idea_id": idea.id, "thread_id": loose.id, "asked": [t.id for t in asked],
                "agent": users.issue_token(agent), "product": users.issue_token(product)}
        db.session.commit()
    return info


def _count(db, stmt) -> int:
    return db.session.execute(stmt).scalar_one()


def test_the_same_link_unlink_and_delivery_ten_times_at_once(database_url, tmp_path):
    info = _prepare(database_url, tmp_path)
    idea_id = info["idea_id"]
    with gunicorn(server_config(database_url, tmp_path), tmp_path, workers=4, threads=4) as base:
        agent, product = Client(base, info["agent"]), Client(base, info["product"])
        linked = burst([lambda: agent.api("POST", f"/ideas/{idea_id}/links", {"thread_id": info["thread_id"]})
                        for _ in range(TIMES)])
        assert sorted(linked) == [200] * (TIMES - 1) + [201]
        link_ids = {body["id"] for _, body in
                    [agent.api("POST", f"/ideas/{idea_id}/links", {"thread_id": info["thread_id"]})]}
        (link_id,) = link_ids
        unlinked = burst([lambda: agent.api("DELETE", f"/ideas/{idea_id}/links/{link_id}")
                          for _ in range(TIMES)])
        assert sorted(unlinked) == [204] + [404] * (TIMES - 1)
        delivered = burst([lambda: product.api("POST", f"/ideas/{idea_id}/status",
                                               {"status": "delivered", "response": RESPONSE})
                           for _ in range(TIMES)])
        assert delivered == [200] * TIMES
        responses = burst([lambda n=n: product.api("POST", f"/ideas/{idea_id}/status",
                                                   {"status": "delivered", "response": f"{RESPONSE} Note {n}."})
                           for n in range(TIMES)])
        assert responses == [200] * TIMES
        status, detail = Client(base).api("GET", f"/ideas/{idea_id}")
        assert status == 200 and detail["status"] == "delivered" and detail["demand"]["threads"] == 2

    from community.models import AuditEntry, IdeaLink, IdeaStatusChange, Notification, Post, ReputationEvent

    with app_on(database_url, tmp_path) as db:
        links_audited = _count(db, select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "idea.link"))
        unlinks_audited = _count(db, select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "idea.unlink"))
        remaining = _count(db, select(func.count()).select_from(IdeaLink).where(IdeaLink.thread_id == info["thread_id"]))
        changes = db.session.execute(select(IdeaStatusChange.old_status, IdeaStatusChange.new_status)
                                     .where(IdeaStatusChange.idea_id == idea_id)
                                     .order_by(IdeaStatusChange.id)).all()
        official = dict(db.session.execute(select(Post.thread_id, func.count()).where(Post.is_official.is_(True))
                                           .group_by(Post.thread_id)).all())
        delivered_notes = dict(db.session.execute(
            select(Notification.user_id, func.count()).where(Notification.kind == "idea_status",
                                                             Notification.message.like("%is now delivered"))
            .group_by(Notification.user_id)).all())
        bonus = _count(db, select(func.count()).select_from(ReputationEvent)
                       .where(ReputationEvent.reason == "idea_delivered"))
    assert (links_audited, unlinks_audited, remaining) == (3, 1, 0)    # the two set up, the one sent ten times
    closing = [c for c in changes if c.new_status == "delivered" and c.old_status != "delivered"]
    assert len(closing) == 1 and len(changes) == 1 + TIMES        # + the ten different responses
    assert changes[1:] == [("delivered", "delivered")] * TIMES
    assert official == dict.fromkeys(info["asked"], 1)
    assert sorted(delivered_notes.values()) == [1, 1, 1, 1]           # author, voter, the two askers
    assert bonus == 1
    print(f"\n{database_url.split(':')[0]}: link x{TIMES} {sorted(linked)}, unlink x{TIMES} {sorted(unlinked)}, "
          f"delivered x{TIMES}: {len(closing)} change, {sum(official.values())} official replies")
