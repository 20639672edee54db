"""The notification fan-out behind the response (services/fanout.py): written with the reply,
applied after its commit, exactly once, never lost, on SQLite and PostgreSQL.

- A reply commits one ``fanout`` row and no notification; applying it tells the asker (with
  their "at once" mail), the @mentioned and the watchers, and deletes the row, in one commit.
- A reply rolled back leaves no row; under TESTING (``NOTIFY_FANOUT_SYNC``) the fan-out is
  applied right after the commit.
- Two applier processes at once over 30 waiting replies, each fan-out held 50 ms inside its
  transaction so that they overlap: every notification exists once, the asker's batched mail
  lists the other 29 replies once each; on PostgreSQL both processes applied some.
- A process killed inside a fan-out's transaction (the notifications written, not committed)
  loses nothing and doubles nothing: another process's background applier, polling, applies
  that row once.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from community.models import Notification, OutboxMessage
from tests.platform import live_server

ROOT = Path(__file__).resolve().parents[2]
REPLIES = 30

#: A separate process: waits until told to go, then applies the waiting fan-outs, each held
#: 50 ms inside its transaction ("die": held until the process is killed).
APPLIER = r"""
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from community import create_app
from community.extensions import db
from community.services import fanout

mode, tmp = sys.argv[1], Path(sys.argv[2])
app = create_app(json.loads(os.environ["FANOUT_TEST_CONFIG"]))
real = fanout.HANDLERS["reply"]

def held(payload):
    real(payload)
    db.session.flush()          # the notifications are written in the transaction, not committed
    if mode == "die":
        (tmp / "inside").write_text("1")
        time.sleep(600)
    time.sleep(0.05)

fanout.HANDLERS["reply"] = held
with app.app_context():
    (tmp / f"ready-{os.getpid()}").write_text("1")
    while not (tmp / "go").exists():
        time.sleep(0.01)
    print(json.dumps({"applied": fanout.apply_pending()}))
"""


database_url = live_server.database_fixture("production_fanout")


def _config(database_url: str, tmp_path: Path, **extra) -> dict:
    return live_server.server_config(database_url, tmp_path, NOTIFY_FANOUT_SYNC=False,
                                     NOTIFY_FANOUT_APPLIER=False, REQUEST_LOG=False, **extra)


def _site(config: dict, replies: int) -> dict:
    """An asker's thread, a watcher, a member @mentioned in every reply, ``replies`` replies
    committed with their fan-outs waiting (and the question's own, which tells nobody)."""
    from community import create_app
    from community.extensions import db
    from community.services.accounts import subscriptions, users
    from community.services.forum import threads

    app = create_app(config)
    with app.app_context():
        db.create_all()
        asker, watcher, mentioned, helper = (users.create_user(name, f"{name}@example.com", "password123")
                                             for name in ("asker", "watcher", "mentioned", "helper"))
        db.session.flush()
        thread = threads.create_thread(asker, threads.create_category("Sync"), "Sync stops at night",
                                       "It stops every night.")
        db.session.commit()
        subscriptions.set_thread_level(watcher.id, thread.id, "watching")
        db.session.commit()
        for i in range(replies):
            threads.add_reply(helper, thread, f"Try step {i}, @mentioned knows the setting.")
            db.session.commit()
        ids = {"thread": thread.id, "asker": asker.id, "watcher": watcher.id, "mentioned": mentioned.id}
        db.session.remove()
        db.engine.dispose()
    return ids


def _counts(config: dict, ids: dict) -> dict:
    from community import create_app
    from community.extensions import db

    app = create_app(config)
    with app.app_context():
        kinds = dict(db.session.execute(select(Notification.kind, func.count()).group_by(Notification.kind)).all())
        per_post = db.session.execute(select(func.count()).select_from(
            select(Notification.user_id, Notification.kind, Notification.post_id)
            .group_by(Notification.user_id, Notification.kind, Notification.post_id)
            .having(func.count() > 1).subquery())).scalar_one()
        mails = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "email")
                                   .order_by(OutboxMessage.id)).scalars().all()
        waiting = db.session.execute(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.channel == "fanout")).scalar_one()
        result = {"kinds": kinds, "doubled": per_post, "waiting": waiting,
                  "asker_mail_items": [len(m.payload.get("items", [])) for m in mails
                                       if m.payload.get("to") == "asker@example.com"]}
        db.session.remove()
        db.engine.dispose()
    return result


def _start(mode: str, config: dict, tmp_path: Path) -> subprocess.Popen:
    script = tmp_path / "applier.py"
    script.write_text(APPLIER)
    env = {**os.environ, "FANOUT_TEST_CONFIG": json.dumps(config)}
    return subprocess.Popen([sys.executable, str(script), mode, str(tmp_path), str(ROOT)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_reply_commits_one_fanout_row_and_its_notifications_come_when_it_is_applied(tmp_path):
    from community import create_app
    from community.extensions import db
    from community.services import fanout

    config = _config(f"sqlite:///{tmp_path / 'one.db'}", tmp_path)
    ids = _site(config, replies=1)
    before = _counts(config, ids)
    assert before["kinds"] == {} and before["waiting"] == 2 and before["asker_mail_items"] == []
    app = create_app(config)
    with app.app_context():
        assert fanout.apply_pending() == 2      # the question's and the reply's
        assert fanout.apply_pending() == 0      # applied once: the row went with its commit
        db.engine.dispose()
    after = _counts(config, ids)
    assert after["kinds"] == {"reply": 1, "mention": 1, "watching": 1}
    assert after["asker_mail_items"] == [1] and after["waiting"] == 0 and after["doubled"] == 0


def test_a_rolled_back_reply_leaves_no_fanout_and_testing_applies_it_after_the_commit(app, db, make):
    from community.services.forum import threads

    asker, helper = make.user("asker"), make.user("helper")
    thread = make.thread(author=asker)
    threads.add_reply(helper, thread, "Restart the sync agent, then sign in again.")
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.channel == "fanout")).scalar_one() == 1
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 0
    threads.add_reply(helper, thread, "Restart the sync agent, then sign in again.")
    db.session.commit()
    assert db.session.execute(select(Notification.kind).where(Notification.user_id == asker.id)).scalars().all() \
        == ["reply"]
    assert db.session.execute(select(OutboxMessage.channel)).scalars().all() == ["email"]


def test_two_applier_processes_at_once_fan_each_reply_out_exactly_once(database_url, tmp_path):
    config = _config(database_url, tmp_path)
    ids = _site(config, replies=REPLIES)
    procs = [_start("apply", config, tmp_path) for _ in range(2)]
    try:
        _wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 2 or any(p.poll() is not None for p in procs),
                  600, "both appliers to load the app")
        (tmp_path / "go").write_text("1")
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    applied = [json.loads(out.strip().splitlines()[-1])["applied"] for out, _ in outputs]
    assert sum(applied) == REPLIES + 1, applied    # the question's too
    if database_url.startswith("postgresql"):
        # SKIP LOCKED: both work at once.  SQLite has one writer; its busy handler grants the
        # lock to no one in particular, and one process may take every row ([31, 0] at load 10).
        assert min(applied) > 0, applied
    counts = _counts(config, ids)
    assert counts["kinds"] == {"reply": REPLIES, "mention": REPLIES, "watching": REPLIES}
    assert counts["doubled"] == 0 and counts["waiting"] == 0
    # The asker's mail: the first reply at once, the other 29 batched into one, each once.
    assert counts["asker_mail_items"] == [1, REPLIES - 1]


def test_a_process_killed_inside_a_fanout_loses_nothing_and_another_applier_does_it_once(database_url,
                                                                                         tmp_path):
    from community import create_app
    from community.extensions import db

    config = _config(database_url, tmp_path)
    ids = _site(config, replies=1)
    proc = _start("die", config, tmp_path)
    try:
        _wait_for(lambda: (tmp_path / f"ready-{proc.pid}").exists() or proc.poll() is not None, 600,
                  "the applier to load the app")
        (tmp_path / "go").write_text("1")
        _wait_for(lambda: (tmp_path / "inside").exists() or proc.poll() is not None, 120,
                  "the applier to be inside the fan-out")
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        os.kill(proc.pid, signal.SIGKILL)       # the notifications were written, not committed
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _counts(config, ids)["kinds"] == {}
    # A serving process's background applier finds the row the dead one left (its lock went
    # with its connection) within a poll, and applies it once.
    app = create_app({**config, "NOTIFY_FANOUT_APPLIER": True, "NOTIFY_FANOUT_POLL_SECONDS": 0.2})
    applier = app.extensions["fanout"]
    applier.ensure_running()
    try:
        _wait_for(lambda: _counts(config, ids)["waiting"] == 0, 60, "the background applier")
    finally:
        applier.stop()
        with app.app_context():
            db.engine.dispose()
    counts = _counts(config, ids)
    assert counts["kinds"] == {"reply": 1, "mention": 1, "watching": 1}
    assert counts["doubled"] == 0 and counts["asker_mail_items"] == [1]


def test_an_accept_queues_its_notification_and_is_told_after_the_commit_never_to_the_actor(app, db, make):
    """Any write's ``notify`` goes by the outbox too (``fanout.notify_later``): in the request one
    row and no notification; after the commit (TESTING applies it there) the answerer's, once."""
    from community.services import fanout
    from community.services.forum import accepting

    asker, helper = make.user("asker"), make.user("helper")
    thread = make.thread(author=asker)
    answer = make.reply(thread, author=helper)

    def accepted() -> list[int]:
        return db.session.execute(select(Notification.user_id).where(Notification.kind == "accepted")).scalars().all()

    accepting.accept(asker, thread, answer)
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "fanout")).scalars().all()
    assert [row.payload["event"] for row in rows] == ["notify"] and rows[0].payload["user_ids"] == [helper.id]
    assert accepted() == []
    db.session.commit()
    assert accepted() == [helper.id]
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.channel == "fanout")).scalar_one() == 0
    # one row for many people, each once, never the actor or nobody
    assert fanout.notify_later([asker.id, None, helper.id, helper.id], "accepted", "m", "/t", actor_id=asker.id) == 1
    assert fanout.notify_later(None, "accepted", "m", "/t") == 0 and fanout.notify_later(asker.id, "accepted", "m", "/t",
                                                                                          actor_id=asker.id) == 0
    db.session.commit()
    assert sorted(accepted()) == [helper.id, helper.id]


def test_a_thread_s_waiting_fan_outs_are_applied_in_one_transaction_reading_its_levels_once(
        database_url, tmp_path, monkeypatch):
    """Five replies' fan-outs (and the question's) waiting: one transaction applies them all, reads
    the thread's levels once and, on PostgreSQL, takes its mail-throttle lock once; every reply
    still tells the asker (a mail at once, the next four batched), the @mentioned and the watcher, once each."""
    from sqlalchemy import event

    from community import create_app
    from community.extensions import db
    from community.services import fanout
    from community.services.accounts import subscriptions

    config = _config(database_url, tmp_path)
    ids = _site(config, replies=5)
    app = create_app(config)
    levels_read, commits, advisory = [], [], []
    real = subscriptions.levels_for
    monkeypatch.setattr(subscriptions, "levels_for", lambda thread: levels_read.append(thread.id) or real(thread))
    with app.app_context():
        engine = db.engine
        event.listen(engine, "commit", lambda conn: commits.append(1))
        event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *a: "pg_advisory_xact_lock" in sql
                     and advisory.append(sql))
        assert fanout.apply_pending() == 6
        engine.dispose()
    assert levels_read == [ids["thread"]] and len(commits) == 1
    assert len(advisory) == (1 if database_url.startswith("postgresql") else 0)
    after = _counts(config, ids)
    assert after["kinds"] == {"reply": 5, "mention": 5, "watching": 5}
    assert after["asker_mail_items"] == [1, 4] and after["waiting"] == 0 and after["doubled"] == 0   # throttled
