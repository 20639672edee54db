"""Promoting a solved thread to an article while others write to it, through gunicorn.

``articles.promote`` locks the thread on purpose: two staff members promoting the same thread at
once make one article.  Here the promotions (several staff, several times each) are sent at the
same moment as votes on the accepted answer and on the question, by several members: each vote
holds the answer's author and then inserts a ledger row naming the thread, while the promotion
holds the thread and then credits that author.  No answer may be a 5xx, PostgreSQL may find no
deadlock, one promotion wins (201) and the others are told it is already an article (409), and
the article, its one credit and every score are exact.

A second test (PostgreSQL) holds the thread's row while a promotion waits for it and withdraws the
accept in that time: the promotion must see the thread as it is once it holds the lock (no longer
solved: refused), not as it read it before.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.platform import live_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not live_server.GUNICORN.exists(), reason="gunicorn is not installed")]

ROUNDS = 4
VOTERS = ("voter1", "voter2", "voter3", "voter4")
STAFF = ("agent", "product")


database_url = live_server.database_fixture("kb_promote")


def _prepare(config: dict) -> dict:
    """A solved thread (two answers, the first accepted), staff who may promote, voters with tokens."""
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import accepting, threads

    with live_server.seeding(config) as make:
        people = {n: make(n) for n in ("asker", "answerer", "other", *VOTERS)}
        people.update(agent=make("agent", "agent"), product=make("product", "product"))
        category = threads.create_category("Billing", "")
        thread = threads.create_thread(people["asker"], category, "How do I download my invoices as PDF?",
                                       "The download button on the invoices page gives an empty page.")
        answer = threads.add_reply(people["answerer"], thread, "Use the PDF button beside each invoice.")
        other = threads.add_reply(people["other"], thread, "Ask the account owner to download them.")
        accepting.accept(people["asker"], thread, answer)
        tokens = {n: users.issue_token(u) for n, u in people.items()}
        db.session.commit()
        site = {"tokens": tokens, "thread": thread.id, "question": thread.question_post_id,
                "answer": answer.id, "other": other.id, "users": {n: u.id for n, u in people.items()}}
    return site


def _fire(base: str, site: dict) -> Counter:
    c = {n: live_server.Client(base, t) for n, t in site["tokens"].items()}
    t, answer, question = site["thread"], site["answer"], site["question"]
    calls = []
    for n in range(ROUNDS):
        calls += [(f"promote by {who}", lambda who=who: c[who].api("POST", f"/threads/{t}/promote", {}))
                  for who in STAFF]
        calls.append(("vote answer", lambda v=VOTERS[n]: c[v].api("POST", f"/posts/{answer}/vote", {"value": 1})))
        calls.append(("vote question", lambda v=VOTERS[n]: c[v].api("POST", f"/posts/{question}/vote", {"value": 1})))
    codes = live_server.burst([call for _, call in calls])
    return Counter((name, code) for (name, _), code in zip(calls, codes))


def test_promotions_racing_votes_on_the_thread_make_one_article_and_one_credit(database_url, tmp_path):
    config = live_server.server_config(database_url, tmp_path)
    site = _prepare(config)
    with live_server.gunicorn(config, tmp_path) as base:
        statuses = _fire(base, site)
    log = (tmp_path / "gunicorn.log").read_text()
    assert not [key for key in statuses if key[1] >= 500], (statuses, log[-3000:])
    assert "deadlock detected" not in log, log[-3000:]
    promotions = Counter(code for (name, code), n in statuses.items() for _ in range(n) if name.startswith("promote"))
    assert promotions == Counter({201: 1, 409: ROUNDS * len(STAFF) - 1}), statuses
    assert statuses[("vote answer", 200)] == ROUNDS and statuses[("vote question", 200)] == ROUNDS, statuses

    from community.models import Article, Post, ReputationEvent, User
    from community.services.maintenance import integrity

    with live_server.app_on(database_url, tmp_path) as db:
        articles = db.session.execute(select(Article)).scalars().all()
        assert [(a.source_thread_id, a.credited_user_id) for a in articles] == [
            (site["thread"], site["users"]["answerer"])]
        credits = db.session.execute(select(ReputationEvent.user_id, ReputationEvent.points)
                                     .where(ReputationEvent.reason == "answer_promoted")).all()
        assert credits == [(site["users"]["answerer"], 10)]
        assert db.session.get(Post, site["answer"]).score == ROUNDS
        assert db.session.get(Post, site["question"]).score == ROUNDS
        # The accept's +15, ROUNDS upvotes of +10, the promotion's +10.
        assert db.session.get(User, site["users"]["answerer"]).reputation_points == 15 + 10 * ROUNDS + 10
        assert db.session.execute(select(func.count()).select_from(ReputationEvent)
                                  .where(ReputationEvent.reason == "answer_upvoted")).scalar_one() == ROUNDS
        assert integrity.find_drift() == []


def test_a_promotion_waiting_for_the_thread_sees_the_accept_withdrawn_meanwhile(tmp_path):
    """The promotion has read the thread (solved) and waits for its row; the transaction holding it
    withdraws the accept and commits.  Holding the lock, the promotion must refuse (the thread is
    no longer solved), not promote the answer it read before and credit its author."""
    import psycopg

    with live_server.database("postgresql", tmp_path, "kb_promote_stale") as database_url:
        config = live_server.server_config(database_url, tmp_path)
        site = _prepare(config)
        url = database_url.replace("+psycopg", "")
        with live_server.gunicorn(config, tmp_path) as base:
            agent = live_server.Client(base, site["tokens"]["agent"])
            with psycopg.connect(url) as holder:
                holder.execute("SELECT id FROM threads WHERE id = %s FOR UPDATE", (site["thread"],))
                answer = {}
                waiter = threading.Thread(target=lambda: answer.update(
                    result=agent.api("POST", f"/threads/{site['thread']}/promote", {})))
                waiter.start()
                _until_waiting(url)
                holder.execute("UPDATE threads SET accepted_post_id = NULL WHERE id = %s", (site["thread"],))
                holder.commit()
                waiter.join(timeout=60)
        status, body = answer["result"]
        from community.models import Article, ReputationEvent

        with live_server.app_on(database_url, tmp_path) as db:
            assert db.session.execute(select(func.count()).select_from(Article)).scalar_one() == 0
            assert db.session.execute(select(func.count()).select_from(ReputationEvent)
                                      .where(ReputationEvent.reason == "answer_promoted")).scalar_one() == 0
        assert status == 400, (status, body)


def test_a_vote_holding_the_author_and_a_promotion_holding_the_thread_do_not_deadlock(tmp_path):
    """The crossing the burst above leaves to chance, made to happen (PostgreSQL): the answer's
    author's row is held while a vote on the answer waits for it and a promotion, behind the vote,
    takes the thread and waits for that author to credit them.  Released, the vote holds the author
    and inserts its ledger row, which names the thread.  With the thread locked ``FOR UPDATE``
    that insert waited for the promotion, which waited for the vote: "deadlock detected", a 500."""
    import psycopg

    with live_server.database("postgresql", tmp_path, "kb_promote_cross") as database_url:
        config = live_server.server_config(database_url, tmp_path)
        site = _prepare(config)
        url = database_url.replace("+psycopg", "")
        answers = {}

        def send(name, client, path, body):
            worker = threading.Thread(target=lambda: answers.update({name: client.api("POST", path, body)[0]}))
            worker.start()
            return worker

        with live_server.gunicorn(config, tmp_path) as base:
            voter = live_server.Client(base, site["tokens"]["voter1"])
            agent = live_server.Client(base, site["tokens"]["agent"])
            with psycopg.connect(url) as holder:
                holder.execute("SELECT id FROM users WHERE id = %s FOR UPDATE", (site["users"]["answerer"],))
                vote = send("vote", voter, f"/posts/{site['answer']}/vote", {"value": 1})
                _until_waiting(url, 1)
                promotion = send("promote", agent, f"/threads/{site['thread']}/promote", {})
                _until_waiting(url, 2)
                holder.commit()
                vote.join(timeout=60)
                promotion.join(timeout=60)
        log = (tmp_path / "gunicorn.log").read_text()
        assert answers == {"vote": 200, "promote": 201}, (answers, log[-3000:])
        assert "deadlock detected" not in log, log[-3000:]
        from community.models import User

        with live_server.app_on(database_url, tmp_path) as db:
            assert db.session.get(User, site["users"]["answerer"]).reputation_points == 15 + 10 + 10


def _until_waiting(url: str, count: int = 1) -> None:
    """Return once ``count`` backends of the database wait for a lock (the requests reached it)."""
    import psycopg

    deadline = time.time() + 30
    with psycopg.connect(url, autocommit=True) as watcher:
        while time.time() < deadline:
            if watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                               " AND wait_event_type = 'Lock'").fetchone()[0] >= count:
                return
            time.sleep(0.05)
    raise AssertionError(f"fewer than {count} requests waited for a lock")
