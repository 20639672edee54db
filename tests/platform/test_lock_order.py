"""Different writes that share locks, sent at once and crossing, through gunicorn on PostgreSQL.

``test_concurrent_writes`` fires the *same* write many times; here *different* writes take the
same rows and advisory locks at once, so a write taking them out of the documented order
(``services/locking.py``, "Lock order") meets another holding what it wants next: PostgreSQL
then cancels one of them ("deadlock detected"), a 500 or a failed fan-out.

- row locks: votes on an answer (the post, then its author and the voter), accepts moving
  between the two answers (the thread, the post, then the asker and both authors), a vote on the question (the
  thread, the question, the asker and the voter), votes on the other answer, replies (the
  thread's counter);
- advisory locks: every reply notifies its watchers and the @mentioned by email at once; each
  mentions two of the watchers, in crossing pairs, so the fan-outs of two replies tell the same
  people in different orders (the mail throttle's lock is taken per thread, not per person).

No answer may be a 5xx, no fan-out may fail, and the state is exactly the expected one.
SQLite has no row locks (one writer at a time): PostgreSQL only.
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.platform import live_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not live_server.GUNICORN.exists(), reason="gunicorn is not installed")]

ROUNDS = 8
WATCHERS = ("watch1", "watch2", "watch3", "watch4")
#: Who each reply mentions: every pair both ways, so two replies' fan-outs cross.
PAIRS = [("watch1", "watch2"), ("watch2", "watch1"), ("watch3", "watch4"), ("watch4", "watch3"),
         ("watch1", "watch4"), ("watch4", "watch1")]
EMAILED = ("reply", "mention", "watching", "accepted")


@pytest.fixture
def database_url(tmp_path):
    with live_server.database("postgresql", tmp_path, "locks_cross") as url:
        yield url


def _prepare(config: dict) -> dict:
    """A thread with two answers; watchers who want every mail at once; privileges from the ledger."""
    from community import create_app
    from community.extensions import db
    from community.services.accounts import preferences, subscriptions, users
    from community.services.forum import reputation, threads

    app = create_app(config)
    with app.app_context():
        db.create_all()
        make = lambda name: users.create_user(name, f"{name}@example.com", "password123", "member")  # noqa: E731
        people = {n: make(n) for n in ("asker", "answerer", "voter", *WATCHERS)}
        category = threads.create_category("Billing", "")
        body = "I tried the settings page but nothing changes at all."
        thread = threads.create_thread(people["asker"], category, "How do I change my billing email?", body)
        a1 = threads.add_reply(people["answerer"], thread, "Open Billing, then Contacts, and edit it.")
        a2 = threads.add_reply(people["voter"], thread, "Ask the account owner to change it for you.")
        for person in people.values():
            for kind in EMAILED:
                preferences.set_choice(person.id, kind, "immediately")
        for name in WATCHERS:
            subscriptions.set_thread_level(people[name].id, thread.id, "watching")
        reputation.award(people["voter"].id, "idea_delivered", points=50, source="test:privileges")
        tokens = {n: users.issue_token(u) for n, u in people.items()}
        db.session.commit()
        site = {"tokens": tokens, "thread": thread.id, "question": thread.question_post_id, "a1": a1.id,
                "a2": a2.id, "users": {n: u.id for n, u in people.items()}}
        db.engine.dispose()
    return site


def _fire(base: str, site: dict) -> Counter:
    """Every round: the crossing writes, all released at the same moment."""
    c = {n: live_server.Client(base, t) for n, t in site["tokens"].items()}
    t, a1, a2, question = site["thread"], site["a1"], site["a2"], site["question"]
    calls = []
    for n in range(ROUNDS):
        first, second = PAIRS[n % len(PAIRS)]
        calls += [
            ("vote a1", lambda: c["voter"].api("POST", f"/posts/{a1}/vote", {"value": 1})),
            # The accept moves every round (a repeated one returns before its user locks).
            ("accept", lambda n=n: c["asker"].api("POST", f"/threads/{t}/accept", {"post_id": (a1, a2)[n % 2]})),
            ("vote question", lambda: c["answerer"].api("POST", f"/posts/{question}/vote", {"value": 1})),
            ("vote a2", lambda: c["asker"].api("POST", f"/posts/{a2}/vote", {"value": 1})),
            ("vote a2 by answerer", lambda: c["answerer"].api("POST", f"/posts/{a2}/vote", {"value": 1})),
            ("reply", lambda n=n, first=first, second=second: c["asker"].api(
                "POST", f"/threads/{t}/posts", {"body": f"Crossing reply {n}: @{first} and @{second}, see Billing."})),
        ]
    codes = live_server.burst([call for _, call in calls])
    return Counter((name, code) for (name, _), code in zip(calls, codes))


def _fanouts_left(db) -> list:
    """The fan-out rows not applied yet, with their errors, once the appliers have had their time."""
    from community.models import OutboxMessage
    from community.services import fanout

    deadline = time.time() + 60
    while True:
        rows = db.session.execute(select(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.last_error)
                                  .where(OutboxMessage.channel == fanout.CHANNEL)).all()
        db.session.rollback()
        if not rows or any(r.attempts for r in rows) or time.time() > deadline:
            return [tuple(r) for r in rows]
        time.sleep(0.5)


def test_crossing_writes_share_locks_without_deadlock(database_url, tmp_path):
    # A failed fan-out is retried an hour later: it stays in the table for the test to see.
    config = live_server.server_config(database_url, tmp_path, NOTIFY_FANOUT_BACKOFF_SECONDS=3600.0)
    site = _prepare(config)
    with live_server.gunicorn(config, tmp_path) as base:
        statuses = _fire(base, site)
        with live_server.app_on(database_url, tmp_path) as db:
            left = _fanouts_left(db)
    log = (tmp_path / "gunicorn.log").read_text()
    print("\n" + "; ".join(f"{name} {code}: {count}" for (name, code), count in sorted(statuses.items())))
    assert not [key for key in statuses if key[1] >= 500], (statuses, log[-3000:])
    assert "deadlock detected" not in log, log[-3000:]
    assert left == [], left
    expected = {(name, 200): ROUNDS for name in ("vote a1", "accept", "vote question", "vote a2",
                                                  "vote a2 by answerer")}
    assert statuses == Counter({**expected, ("reply", 201): ROUNDS})
    _check_state(database_url, tmp_path, site)


def _check_state(database_url, tmp_path, site: dict) -> None:
    from community.models import Notification, OutboxMessage, Post, Thread, User
    from community.services.maintenance import integrity

    with live_server.app_on(database_url, tmp_path) as db:
        user = lambda name: db.session.get(User, site["users"][name])  # noqa: E731
        assert integrity.find_drift() == []
        thread = db.session.get(Thread, site["thread"])
        accepted = thread.accepted_post_id
        assert accepted in (site["a1"], site["a2"]) and thread.reply_count == 2 + ROUNDS
        assert db.session.get(Post, site["a1"]).score == 1
        assert db.session.get(Post, site["a2"]).score == 2
        assert db.session.get(Post, site["question"]).score == 1
        # a1 upvoted once, a2 twice, the question once; the accept's +15 and +2 stand once.
        assert user("answerer").reputation_points == 10 + 15 * (accepted == site["a1"])
        assert user("voter").reputation_points == 50 + 10 + 10 + 15 * (accepted == site["a2"])
        assert user("asker").reputation_points == 5 + 2
        replies = db.session.execute(select(Post.id, Post.body).where(Post.body.like("Crossing reply %"))).all()
        assert len(replies) == ROUNDS
        told = Counter(db.session.execute(
            select(Notification.user_id, Notification.kind).where(Notification.post_id.in_([r.id for r in replies]))).all())
        # Every reply: its two @mentioned a mention, the other watchers (and the two answerers,
        # who watch what they answered) one "watching" each; the asker wrote them: nothing.
        ids = site["users"]
        for name in WATCHERS:
            mentioned = sum(f"@{name} " in body or f"@{name}," in body for _, body in replies)
            assert told[(ids[name], "mention")] == mentioned and told[(ids[name], "watching")] == ROUNDS - mentioned
        for name in ("answerer", "voter"):
            assert told[(ids[name], "watching")] == ROUNDS
        assert not [key for key in told if key[0] == ids["asker"]]
        mails = db.session.execute(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.user_id == ids["watch1"], OutboxMessage.channel != "fanout")).scalar_one()
        assert mails >= 1    # emailed at once (later replies batched into the waiting mail)
