"""Merging an idea while others vote on, follow and link it, through gunicorn (SQLite and PostgreSQL).

``merging.merge`` locks both ideas ``FOR UPDATE`` on purpose: a vote, a follow or a link of the
idea being merged away (an insert naming it) waits for the merge, then must either land on the
idea it went into or be refused, never stay on the closed duplicate.  The same merge is sent by
two product managers several times each, at the same moment as new votes on both ideas, follows
and a link of the duplicate.  No answer may be a 5xx (PostgreSQL: no deadlock), the merge happens
once (one 200, 409 for the others), nothing is left on the duplicate, every counter equals its
rows and ``flask check`` finds no drift.
"""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from community.config import REPUTATION_POINTS
from tests.platform import live_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not live_server.GUNICORN.exists(), reason="gunicorn is not installed")]

MERGES = 3
VOTERS = ("voter1", "voter2", "voter3", "voter4")
FOLLOWERS = ("follower1", "follower2", "follower3")


database_url = live_server.database_fixture("ideas_merge")


def _prepare(config: dict) -> dict:
    """Two ideas (each voted for by its author and one member), a thread to link, tokens."""
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import threads
    from community.services.ideas import exchange

    with live_server.seeding(config) as make:
        people = {n: make(n) for n in ("alice", "bob", "early", *VOTERS, *FOLLOWERS)}
        people.update(pm1=make("pm1", "product"), pm2=make("pm2", "product"), agent=make("agent", "agent"))
        category = threads.create_category("Mobile App", "")
        dup = exchange.create_idea(people["alice"], category, "Offline mode for the phone app",
                                   "Let me read my notes on the phone without a connection.")
        target = exchange.create_idea(people["bob"], category, "Offline mode for the mobile app",
                                      "Let me read and edit my notes without a connection.")
        exchange.set_vote(people["early"], dup, 1)
        thread = threads.create_thread(people["early"], category, "Can I read my notes offline?",
                                       "On the train I have no signal and the app shows nothing.")
        tokens = {n: users.issue_token(u) for n, u in people.items()}
        db.session.commit()
        site = {"tokens": tokens, "dup": dup.id, "target": target.id, "thread": thread.id,
                "users": {n: u.id for n, u in people.items()}}
    return site


def _fire(base: str, site: dict) -> Counter:
    c = {n: live_server.Client(base, t) for n, t in site["tokens"].items()}
    pages = {n: live_server.Client(base).login(n) for n in FOLLOWERS}
    dup, target = site["dup"], site["target"]
    calls = [(f"merge by {pm}", lambda pm=pm: c[pm].api("POST", f"/ideas/{dup}/merge", {"into": target}))
             for pm in ("pm1", "pm2") for _ in range(MERGES)]
    calls += [(f"vote dup:{v}", lambda v=v: c[v].api("POST", f"/ideas/{dup}/vote", {"value": 1})) for v in VOTERS]
    calls += [("vote target", lambda v=v: c[v].api("POST", f"/ideas/{target}/vote", {"value": 1}))
              for v in VOTERS[2:]]
    calls += [("follow dup", lambda f=f: pages[f].form(f"/ideas/{dup}/follow", {})) for f in FOLLOWERS]
    calls.append(("link dup", lambda: c["agent"].api("POST", f"/ideas/{dup}/links", {"thread_id": site["thread"]})))
    codes = live_server.burst([call for _, call in calls])
    return Counter((name, code) for (name, _), code in zip(calls, codes))


def test_a_merge_racing_votes_follows_and_links_moves_everything_once(database_url, tmp_path):
    config = live_server.server_config(database_url, tmp_path)
    site = _prepare(config)
    with live_server.gunicorn(config, tmp_path) as base:
        statuses = _fire(base, site)
    log = (tmp_path / "gunicorn.log").read_text()
    print("\n" + "; ".join(f"{name} {code}: {n}" for (name, code), n in sorted(statuses.items())))
    assert not [key for key in statuses if key[1] >= 500], (statuses, log[-3000:])
    assert "deadlock detected" not in log, log[-3000:]
    merges = Counter(code for (name, code), n in statuses.items() for _ in range(n) if name.startswith("merge"))
    assert merges == Counter({200: 1, 409: 2 * MERGES - 1}), statuses
    assert statuses[("vote target", 200)] == len(VOTERS[2:]), statuses
    # A vote, follow or link of the duplicate is applied (and moves with the merge) or refused.
    assert all(statuses[(f"vote dup:{v}", 200)] + statuses[(f"vote dup:{v}", 409)] == 1 for v in VOTERS), statuses
    assert statuses[("follow dup", 302)] == len(FOLLOWERS), statuses
    assert statuses[("link dup", 201)] + statuses[("link dup", 409)] == 1, statuses

    from community.models import Idea, IdeaFollow, IdeaLink, IdeaVote, ReputationEvent
    from community.services.maintenance import integrity

    ids = site["users"]
    with live_server.app_on(database_url, tmp_path) as db:
        dup, target = db.session.get(Idea, site["dup"]), db.session.get(Idea, site["target"])
        assert (dup.status, dup.merged_into_id) == ("duplicate", target.id)
        rows = lambda model, idea: set(db.session.execute(  # noqa: E731
            select(model.user_id).where(model.idea_id == idea.id)).scalars())
        assert rows(IdeaVote, dup) == set() and rows(IdeaFollow, dup) == set()
        assert db.session.execute(select(IdeaLink.idea_id).where(IdeaLink.thread_id == site["thread"])).scalars().all() \
            == ([target.id] if statuses[("link dup", 201)] else [])
        voters = rows(IdeaVote, target)
        # Everyone whose vote for either idea was counted, once: a vote on the duplicate is counted
        # (and moved) when it came first, refused (409: closed) once the merge had closed it.
        counted = [v for v in VOTERS[:2] if statuses[(f"vote dup:{v}", 200)]]
        assert voters == {ids[n] for n in ("alice", "bob", "early", *VOTERS[2:], *counted)}, voters
        assert target.vote_count == len(voters) and dup.vote_count == 0
        assert set(ids[f] for f in FOLLOWERS) <= rows(IdeaFollow, target)
        # Bob's idea holds one upvote of each voter but himself (alice's, early's and the four).
        upvotes = db.session.execute(select(ReputationEvent.source, func.sum(ReputationEvent.points))
                                     .where(ReputationEvent.reason == "idea_upvoted")
                                     .group_by(ReputationEvent.source)).all()
        assert dict(upvotes).get(f"idea:{target.id}") == REPUTATION_POINTS["idea_upvoted"] * (len(voters) - 1)
        assert dict(upvotes).get(f"idea:{dup.id}", 0) == 0
        assert integrity.find_drift() == []


def test_a_link_and_a_follow_waiting_for_a_merge_land_on_the_idea_it_went_into(tmp_path):
    """The interleaving the burst above leaves to chance, made to happen (PostgreSQL): the duplicate's
    row is held ``FOR UPDATE`` (as a merge holds it) while a link and a follow of it are sent; the
    holder then closes it as merged into the other idea and commits.  The link must be refused (409:
    link the idea it went into) and the follow must follow that idea.  Both checked the duplicate as
    they had read it before their insert waited, and landed on the closed duplicate (201 and 302)."""
    import threading
    import time

    import psycopg

    with live_server.database("postgresql", tmp_path, "ideas_merge_wait") as database_url:
        config = live_server.server_config(database_url, tmp_path)
        site = _prepare(config)
        url = database_url.replace("+psycopg", "")
        answers = {}
        with live_server.gunicorn(config, tmp_path) as base:
            agent = live_server.Client(base, site["tokens"]["agent"])
            follower = live_server.Client(base).login("follower1")
            calls = {"link": lambda: agent.api("POST", f"/ideas/{site['dup']}/links", {"thread_id": site["thread"]}),
                     "follow": lambda: follower.form(f"/ideas/{site['dup']}/follow", {})}
            with psycopg.connect(url) as holder:
                holder.execute("SELECT id FROM ideas WHERE id = %s FOR UPDATE", (site["dup"],))
                workers = [threading.Thread(target=lambda n=n, call=call: answers.update({n: call()[0]}))
                           for n, call in calls.items()]
                for worker in workers:
                    worker.start()
                deadline = time.time() + 30
                with psycopg.connect(url, autocommit=True) as watcher:
                    while watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                          " AND wait_event_type = 'Lock'").fetchone()[0] < 2:
                        assert time.time() < deadline, "the link and the follow never waited for the idea"
                        time.sleep(0.05)
                holder.execute("UPDATE ideas SET status = 'duplicate', merged_into_id = %s WHERE id = %s",
                               (site["target"], site["dup"]))
                holder.commit()
                for worker in workers:
                    worker.join(timeout=60)
        from community.models import IdeaFollow, IdeaLink

        with live_server.app_on(database_url, tmp_path) as db:
            links = db.session.execute(select(IdeaLink.idea_id)).scalars().all()
            follows = db.session.execute(select(IdeaFollow.idea_id)
                                         .where(IdeaFollow.user_id == site["users"]["follower1"])).scalars().all()
        assert (answers, links, follows) == ({"link": 409, "follow": 302}, [], [site["target"]])
