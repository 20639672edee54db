"""Exact vote counts under concurrent voting against a real multi-process server.

Starts gunicorn (4 worker processes × 4 threads) on 127.0.0.1 over a
temporary SQLite file (WAL, busy timeout) and, when reachable, a throwaway
PostgreSQL database; then many users vote at once over HTTP with bearer
tokens, each of them twice concurrently, and some withdraw concurrently.
The final count must equal the distinct voters exactly, in the counter, in
the rows and in the reputation ledger.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.platform.live_server import GUNICORN, Client, app_on, database, gunicorn, server_config

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed in this environment")]

VOTERS = 40
WITHDRAWERS = 15


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    with database(request.param, tmp_path, "ideas_conc") as url:
        yield url


def _prepare(database_url: str, tmp_path: Path) -> dict:
    """Schema, one idea, VOTERS users with tokens (through the services, like real users)."""
    from community.services.accounts import users
    from community.services.forum import threads
    from community.services.ideas import exchange

    with app_on(database_url, tmp_path, create=True) as db:
        author = users.create_user("author", "author@example.com", "password123")
        category = threads.create_category("Mobile App", "")
        idea = exchange.create_idea(author, category, "Offline mode for the mobile app",
                                 "Let me read and edit my notes without a connection.")
        tokens = []
        for n in range(VOTERS):
            user = users.create_user(f"voter{n}", f"voter{n}@example.com", "password123")
            tokens.append(users.issue_token(user))
        db.session.commit()
        info = {"idea_id": idea.id, "author_id": author.id, "tokens": tokens}
    return info


def _vote(base: str, idea_id: int, token: str, value: int) -> tuple[int, dict]:
    return Client(base, token).api("POST", f"/ideas/{idea_id}/vote", {"value": value})


def test_concurrent_votes_are_counted_exactly(database_url, tmp_path):
    info = _prepare(database_url, tmp_path)
    idea_id, tokens = info["idea_id"], info["tokens"]
    with gunicorn(server_config(database_url, tmp_path), tmp_path, workers=4, threads=4) as base:
        # Round 1: every voter votes twice at the same time (80 requests, 32 in flight).
        jobs = [(t, 1) for t in tokens] + [(t, 1) for t in tokens]
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(lambda job: _vote(base, idea_id, *job), jobs))
        assert all(status == 200 for status, _ in results), [r for r in results if r[0] != 200][:3]
        started = time.perf_counter()
        assert Client(base).api("GET", f"/ideas/{idea_id}")[1]["votes"] == VOTERS + 1   # + the author's own vote
        # Round 2: some withdraw twice at once while the others vote again (no-ops).
        jobs = ([(t, 0) for t in tokens[:WITHDRAWERS]] * 2) + [(t, 1) for t in tokens[WITHDRAWERS:]]
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(lambda job: _vote(base, idea_id, *job), jobs))
        assert all(status == 200 for status, _ in results), [r for r in results if r[0] != 200][:3]
        elapsed = time.perf_counter() - started
        final = Client(base).api("GET", f"/ideas/{idea_id}")[1]["votes"]
        expected = VOTERS + 1 - WITHDRAWERS
        assert final == expected
    print(f"\n{database_url.split(':')[0]}: {2 * VOTERS + 2 * WITHDRAWERS + VOTERS - WITHDRAWERS} concurrent "
          f"vote requests from {VOTERS} users, final count {final} == {expected} (round 2: {elapsed:.2f}s)")

    # The rows and the ledger agree with the counter.
    from community.models import Idea, IdeaVote, ReputationEvent

    with app_on(database_url, tmp_path) as db:
        rows = db.session.execute(select(func.count()).select_from(IdeaVote)
                                  .where(IdeaVote.idea_id == idea_id)).scalar_one()
        counter = db.session.get(Idea, idea_id).vote_count
        points = db.session.execute(select(func.coalesce(func.sum(ReputationEvent.points), 0))
                                    .where(ReputationEvent.user_id == info["author_id"])).scalar_one()
    assert rows == counter == expected
    assert points == expected - 1   # +1 per standing vote from someone else


BUDGET = 3
BUDGET_USERS = 8
BUDGET_IDEAS = 10


def _prepare_budget(database_url: str, tmp_path: Path) -> dict:
    """BUDGET_IDEAS open ideas (by an author outside the test) and BUDGET_USERS voters with tokens."""
    from community.services.accounts import users
    from community.services.forum import threads
    from community.services.ideas import exchange

    with app_on(database_url, tmp_path, create=True) as db:
        author = users.create_user("author", "author@example.com", "password123")
        category = threads.create_category("Mobile App", "")
        ideas = [exchange.create_idea(author, category, f"Budget idea number {n} for the app",
                                      "Something many customers would use every day.").id
                 for n in range(BUDGET_IDEAS)]
        voters = [users.create_user(f"voter{n}", f"voter{n}@example.com", "password123")
                  for n in range(BUDGET_USERS)]
        tokens = [users.issue_token(v) for v in voters]
        db.session.commit()
        info = {"ideas": ideas, "tokens": tokens, "voter_ids": [v.id for v in voters]}
    return info


def test_parallel_votes_never_exceed_the_budget(database_url, tmp_path):
    """Each member votes for all ten ideas at once, twice over: exactly BUDGET votes stand each."""
    info = _prepare_budget(database_url, tmp_path)
    config = server_config(database_url, tmp_path, IDEA_VOTE_BUDGET=BUDGET)
    with gunicorn(config, tmp_path, workers=4, threads=4) as base:
        jobs = [(idea_id, token) for token in info["tokens"] for idea_id in info["ideas"]] * 2
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(lambda job: _vote(base, job[0], job[1], 1), jobs))
    statuses = {status for status, _ in results}
    assert statuses <= {200, 409}, [r for r in results if r[0] not in (200, 409)][:3]
    refusals = [body for status, body in results if status == 409]
    assert refusals and all("vote_budget" in json.dumps(body) for body in refusals)

    from community.models import Idea, IdeaVote

    with app_on(database_url, tmp_path) as db:
        per_voter = dict(db.session.execute(
            select(IdeaVote.user_id, func.count()).where(IdeaVote.user_id.in_(info["voter_ids"]))
            .group_by(IdeaVote.user_id)).all())
        counters = sum(db.session.execute(select(Idea.vote_count)).scalars())
        rows = db.session.execute(select(func.count()).select_from(IdeaVote)).scalar_one()
    assert per_voter == dict.fromkeys(info["voter_ids"], BUDGET)
    assert counters == rows == BUDGET_USERS * BUDGET + BUDGET_IDEAS   # + the author's own votes
    print(f"\n{database_url.split(':')[0]}: {len(jobs)} parallel votes by {BUDGET_USERS} members "
          f"(budget {BUDGET}): {len(refusals)} refused, every member holds exactly {BUDGET}")
