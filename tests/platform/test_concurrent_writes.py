"""The same write sent many times at once changes state once, through gunicorn, on both databases.

A site is prepared through the services, then served by gunicorn (4 worker
processes × 2 threads).  Each write of the product is fired BURST times at
the same moment by the same person (vote, page vote, flip, withdraw, answers
to one thread through the API and the page, page accept, change accept, unaccept, flag, follow an idea, watch a thread, an email
choice, idea vote, escalate, merge), plus three members flagging one post at
once and 24 voters racing one author's daily cap.  No answer may be a 5xx; afterwards the exact expected state
holds and ``integrity.find_drift()`` (what ``flask check`` runs) finds nothing.
"""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.platform import live_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not live_server.GUNICORN.exists(), reason="gunicorn is not installed")]

BURST = 12
CAP_VOTERS = 24


database_url = live_server.database_fixture("integrity_conc")


def _prepare(config: dict) -> dict:
    """Users, two threads to merge, answers, an idea; privileges earned through ledger rows."""
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import reputation, threads
    from community.services.ideas import exchange

    with live_server.seeding(config) as make:
        people = {n: make(n) for n in ("asker", "answerer", "helper", "voter", "voter2", "member",
                                       "earner", "flagger1", "flagger2", "flagger3")}
        people["agent"], people["mod"] = make("agent", "agent"), make("mod", "moderator")
        for name in ("voter", "flagger1", "flagger2", "flagger3"):   # enough for downvotes and flags
            reputation.award(people[name].id, "idea_delivered", points=200, source="test:privileges")
        category = threads.create_category("Billing", "")
        body = "I tried the settings page but nothing changes at all."
        t1 = threads.create_thread(people["asker"], category, "How do I change my billing email?", body)
        t2 = threads.create_thread(people["helper"], category, "Where is the billing email setting?", body)
        a1 = threads.add_reply(people["answerer"], t1, "Open Billing, then Contacts, and edit it.")
        a2 = threads.add_reply(people["helper"], t1, "Ask the account owner to change it for you.")
        threads.add_reply(people["answerer"], t2, "It is under Billing, Contacts.")
        spam = threads.add_reply(people["helper"], t2, "Buy cheap followers at my site today.")
        t3 = threads.create_thread(people["asker"], category, "A thread with many good answers here", body)
        once = threads.add_reply(people["helper"], t3, "A post that one member flags many times.")
        earned = [threads.add_reply(people["earner"], t3, f"Answer number {n} that helps.").id
                  for n in range(CAP_VOTERS)]
        idea = exchange.create_idea(people["asker"], category, "Offline mode for the mobile app",
                                    "Let me read my notes without a connection, please.")
        cappers = [make(f"cap{n}") for n in range(CAP_VOTERS)]
        tokens = {n: users.issue_token(u) for n, u in people.items()}
        cap_tokens = [users.issue_token(u) for u in cappers]
        db.session.commit()
        ids = {"t1": t1.id, "t2": t2.id, "a1": a1.id, "a2": a2.id, "spam": spam.id, "idea": idea.id, "once": once.id,
               "earned": earned, "users": {n: u.id for n, u in people.items()}}
    return {"tokens": tokens, "cap_tokens": cap_tokens, **ids}


_burst = live_server.burst


def _fire(base, site) -> dict[str, Counter]:
    c = {n: live_server.Client(base, t) for n, t in site["tokens"].items()}
    pages = {n: live_server.Client(base).login(n) for n in ("voter2", "asker", "member")}
    a1, a2, t1 = site["a1"], site["a2"], site["t1"]
    same = lambda call: _burst([call] * BURST)  # noqa: E731
    statuses = {
        "vote": same(lambda: c["voter"].api("POST", f"/posts/{a1}/vote", {"value": 1})),
        "page vote": same(lambda: pages["voter2"].form(f"/posts/{a1}/vote", {"value": 1})),
        "vote flip": same(lambda: c["voter"].api("POST", f"/posts/{a1}/vote", {"value": -1})),
        "withdraw": same(lambda: c["voter"].api("POST", f"/posts/{a1}/vote", {"value": 0})),
        # Answers to one thread at once (they take the write lock late: extensions.locks_late).
        "reply": _burst([lambda n=n: c["helper"].api("POST", f"/threads/{t1}/posts",
                                                     {"body": f"Burst answer {n}: check the Billing page."})
                         for n in range(BURST)]),
        "page reply": _burst([lambda n=n: pages["member"].form(f"/threads/{t1}/reply",
                                                               {"body": f"Burst page answer {n} on Billing."})
                              for n in range(BURST)]),
        "page accept": same(lambda: pages["asker"].form(f"/threads/{t1}/accept", {"post_id": a1})),
        "change accept": same(lambda: c["asker"].api("POST", f"/threads/{t1}/accept", {"post_id": a2})),
        "unaccept": same(lambda: c["asker"].api("POST", f"/threads/{t1}/accept", {"post_id": None})),
        "accept again": same(lambda: c["asker"].api("POST", f"/threads/{t1}/accept", {"post_id": a1})),
        "flag": _burst([lambda n=n: c[n].api("POST", f"/posts/{site['spam']}/flag", {"reason": "spam"})
                        for n in ("flagger1", "flagger2", "flagger3") for _ in range(BURST // 3)]),
        "flag (one member)": same(lambda: c["flagger1"].api("POST", f"/posts/{site['once']}/flag",
                                                            {"reason": "spam"})),
        "follow": same(lambda: pages["member"].form(f"/ideas/{site['idea']}/follow", {})),
        "watch": same(lambda: pages["member"].form(f"/threads/{t1}/watch", {"level": "watching"})),
        "email choice": same(lambda: pages["member"].form("/settings/notifications", {"reply": "digest"})),
        "idea vote": same(lambda: c["member"].api("POST", f"/ideas/{site['idea']}/vote", {"value": 1})),
        "escalate": same(lambda: c["agent"].api("POST", f"/threads/{t1}/escalate", {"priority": "high"})),
        "merge": same(lambda: c["mod"].api("POST", f"/threads/{site['t2']}/merge", {"target_id": t1})),
    }
    capped = [live_server.Client(base, t) for t in site["cap_tokens"]]
    statuses["daily cap"] = _burst([
        lambda v=v, p=p: v.api("POST", f"/posts/{p}/vote", {"value": 1})
        for v, p in zip(capped, site["earned"])] * 2)
    return {name: Counter(codes) for name, codes in statuses.items()}


def test_every_write_sent_many_times_at_once_changes_state_once(database_url, tmp_path):
    config = live_server.server_config(database_url, tmp_path)
    site = _prepare(config)
    with live_server.gunicorn(config, tmp_path) as base:
        statuses = _fire(base, site)
    print("\n" + database_url.split(":")[0] + " " + "; ".join(
        f"{name}: {dict(codes)}" for name, codes in statuses.items()))
    errors = {name: codes for name, codes in statuses.items() if any(s >= 500 for s in codes)}
    assert not errors, errors
    assert statuses["vote"] == Counter({200: BURST}) and statuses["page vote"] == Counter({302: BURST})
    assert statuses["reply"] == Counter({201: BURST}) and statuses["page reply"] == Counter({302: BURST})
    assert statuses["escalate"][201] == 1 and statuses["merge"][200] == 1
    assert statuses["flag"][201] == 3 and statuses["flag (one member)"][201] == 1
    assert statuses["watch"] == Counter({302: BURST}) and statuses["email choice"] == Counter({302: BURST})
    _check_state(config, site)


def _check_state(config: dict, site: dict) -> None:
    from community import create_app
    from community.extensions import db
    from community.models import (AuditEntry, Flag, IdeaFollow, Idea, NotificationPreference, Post, PostRevision,
                                  ReputationEvent, Thread, ThreadSubscription, Ticket, User)
    from community.services.maintenance import integrity

    app = create_app(config)
    with app.app_context():
        user = lambda name: db.session.get(User, site["users"][name])  # noqa: E731
        count = lambda model, *where: db.session.execute(  # noqa: E731
            select(func.count()).select_from(model).where(*where)).scalar_one()
        try:
            assert integrity.find_drift() == []
            assert db.session.get(Post, site["a1"]).score == 1          # voter2's +1 stands
            assert count(Post, Post.body.like("Burst answer %")) == BURST   # reply_count: find_drift
            assert count(Post, Post.body.like("Burst page answer %")) == BURST
            t1 = db.session.get(Thread, site["t1"])
            assert t1.accepted_post_id == site["a1"]
            # answerer: +10 (voter2) +15 (accepted once); asker +2 for accepting and +1 for the idea vote
            assert user("answerer").reputation_points == 25
            assert user("asker").reputation_points == 3
            assert user("voter").reputation_points == 200                # the flip's −1 was refunded
            assert user("earner").reputation_points == app.config["REPUTATION_DAILY_CAP"]
            assert count(Flag, Flag.post_id == site["spam"]) == 3
            assert count(Flag, Flag.post_id == site["once"]) == 1          # one member, one flag
            assert not db.session.get(Post, site["once"]).hidden
            member = site["users"]["member"]
            assert db.session.execute(select(ThreadSubscription.level).where(
                ThreadSubscription.user_id == member, ThreadSubscription.thread_id == site["t1"])).all() == [("watching",)]
            assert db.session.execute(select(NotificationPreference.email).where(
                NotificationPreference.user_id == member, NotificationPreference.kind == "reply")).all() == [("digest",)]
            assert db.session.get(Post, site["spam"]).hidden                # hidden once, at the 3rd flag
            assert count(IdeaFollow, IdeaFollow.idea_id == site["idea"]) == 2   # the author and member
            assert db.session.get(Idea, site["idea"]).vote_count == 2
            assert count(Ticket, Ticket.thread_id == site["t1"]) == 1
            assert count(AuditEntry, AuditEntry.action == "thread.escalate") == 1
            assert db.session.get(Thread, site["t2"]).merged_into_id == site["t1"]
            assert count(AuditEntry, AuditEntry.action == "thread.merge") == 1
            assert count(PostRevision, PostRevision.reason.like("Merged from%")) == 1
            assert count(ReputationEvent, ReputationEvent.reason == "answer_accepted") == 5  # 3 grants, 2 undone
        finally:
            db.session.remove()
            db.engine.dispose()
