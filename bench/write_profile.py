"""Where a reply and a vote spend their time, in-process: CPU per request and pyinstrument's tree.

    python bench/write_profile.py [--requests 40] [--database-url postgresql+psycopg://...]
                                  [--search-backend whoosh|postgres] [--thread-replies 0]
                                  [--workdir /tmp/write-profile] [--lines 30] [--json out.json]
                                  [--show-statements N]

Builds the bench site of ``bench/pages.py`` (demo seed, a thread to reply to whose author is
mailed at once for a reply, the bench moderator with an API token), then posts ``--requests``
replies and as many votes (alternating 1 and 0 on one answer) through Flask's test client with
the token, the way ``bench/pages.py`` loads them through gunicorn (``--thread-replies N`` first gives the
thread N replies, as ``bench/pages.py``'s runs leave it; ``--search-backend postgres`` with
``--database-url``: the search documents written in the reply's transaction).  Prints, per kind, the CPU
time of the request's thread per request (``time.thread_time``: on a loaded machine wall time
follows the other jobs; the search queue's and the fan-out's applier threads, which run beside
the requests when the lock lets them, are left out), the wall time, the request thread's SQL
statements per request, the CPU time and statements of the request's thread
while it holds the lock other writers wait for (SQLite's write lock; PostgreSQL's first row or
advisory lock), and pyinstrument's top lines for the whole loop (``--show-statements N``: the SQL of the last N
measured requests of each kind).
Notification fan-out that runs after the response (``services/fanout.py``) is applied at the
end and timed apart, so "in the request" is what the client waits for.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database-url")
    parser.add_argument("--search-backend", choices=("whoosh", "postgres"), default="whoosh",
                        help="postgres needs --database-url")
    parser.add_argument("--thread-replies", type=int, default=0,
                        help="replies the thread to reply to has before the measured ones")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "write-profile")
    parser.add_argument("--lines", type=int, default=45, help="pyinstrument lines shown per kind")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--show-statements", type=int, default=0, metavar="N",
                        help="print the SQL of the last N measured requests of each kind")
    args = parser.parse_args()
    if args.search_backend == "postgres" and not args.database_url:
        parser.error("--search-backend postgres needs --database-url")

    import pages
    from pyinstrument import Profiler
    from sqlalchemy import event

    site = pages.build_instance(args.workdir, args.database_url, args.search_backend)
    ids = pages.prepare_site(args.workdir, site["env"])
    pages._use_env(site["env"])
    from community import create_app
    from community.extensions import db

    # As in production: no synchronous search index or fan-out (both run after the response).
    app = create_app({"INSTANCE_PATH": site["env"]["INSTANCE_PATH"], "REQUEST_LOG": False,
                      "SEARCH_INDEX_SYNC": False, "NOTIFY_FANOUT_SYNC": False,
                      "NOTIFY_FANOUT_APPLIER": False})
    with app.app_context():
        engine = db.engine
        _fill_thread(ids["reply_thread"], args.thread_replies)
    statements = []
    held = _LockHeld()
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *a: threading.current_thread() is threading.main_thread()
                 and statements.append(sql))
    event.listen(engine, "before_cursor_execute", held.statement)
    event.listen(engine, "commit", held.end)
    event.listen(engine, "rollback", held.end)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ids['token']}", "Content-Type": "application/json"}
    reply_url = f"/api/v1/threads/{ids['reply_thread']}/posts"
    vote_url = f"/api/v1/posts/{ids['vote_post']}/vote"

    def reply(i):
        body = json.dumps({"body": f"Reply {i} from the profile: turn off sleep while idle in Settings."})
        return client.post(reply_url, data=body, headers=headers)

    def vote(i):
        return client.post(vote_url, data=json.dumps({"value": i % 2}), headers=headers)

    results, trees = {}, {}
    for name, send, ok in (("reply (API)", reply, 201), ("vote (API)", vote, 200)):
        for i in range(3):   # warm-up: templates, first statements
            assert send(10_000 + i).status_code == ok
        _fan_out(app)
        statements.clear()
        held.clear()
        wall, cpu = time.perf_counter(), time.thread_time()
        marks = []
        for i in range(args.requests):
            marks.append(len(statements))
            response = send(i)
            assert response.status_code == ok, (name, response.status_code, response.get_data(as_text=True))
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        ends = marks[1:] + [len(statements)]
        for start, end in list(zip(marks, ends))[len(marks) - args.show_statements:] if args.show_statements else ():
            print(f"--- {name}, one request's statements:")
            print("\n".join("  " + " ".join(sql.split())[:160] for sql in statements[start:end]))
        sql = len(statements) / args.requests
        locked = held.totals(args.requests)
        fan_cpu = time.process_time()
        fanned = _fan_out(app)
        fan_cpu = time.process_time() - fan_cpu
        results[name] = {"cpu_ms": cpu * 1000 / args.requests, "wall_ms": wall * 1000 / args.requests,
                         "statements": sql, "after_response_cpu_ms": fan_cpu * 1000 / args.requests,
                         "fanned_out": fanned, **locked}
        profiler = Profiler(interval=0.001)
        profiler.start()
        for i in range(args.requests):
            send(args.requests + i)
        profiler.stop()
        _fan_out(app)
        trees[name] = _tree(profiler, args.lines)

    load = os.getloadavg()
    print(f"in-process, {'PostgreSQL' if args.database_url else 'SQLite'} + {args.search_backend} search, "
          f"{args.thread_replies} replies in the thread before, {args.requests} requests each, "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (CPU and wall without the profiler;\n"
          f"the trees: pyinstrument over another {args.requests} of each, wall seconds)\n")
    print(f"{'request':<14} {'CPU ms':>8} {'wall ms':>8} {'SQL':>6} {'CPU ms locked':>14} {'SQL locked':>11} "
          f"{'after-response CPU ms':>22}")
    for name, r in results.items():
        print(f"{name:<14} {r['cpu_ms']:>8.1f} {r['wall_ms']:>8.1f} {r['statements']:>6.1f} "
              f"{r['locked_cpu_ms']:>14.2f} {r['locked_statements']:>11.1f} {r['after_response_cpu_ms']:>22.1f}")
    print("(locked: from the statement that takes the lock other writers of the thread wait for - SQLite's\n"
          " BEGIN IMMEDIATE; on PostgreSQL the first SELECT ... FOR UPDATE, UPDATE or advisory lock - to the\n"
          " commit, in the request's thread: CPU time (time.thread_time) and statements, per request)")
    for name, tree in trees.items():
        print(f"\n--- {name}: pyinstrument, top {args.lines} lines ---")
        print(tree)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "load": load, "requests": args.requests,
                                         "database": "postgresql" if args.database_url else "sqlite",
                                         "search_backend": args.search_backend,
                                         "thread_replies": args.thread_replies,
                                         "trees": trees}, indent=2))
    pages._stop_applier(app)
    with app.app_context():
        db.engine.dispose()


def _fill_thread(thread_id: int, replies: int) -> None:
    """Give the thread ``replies`` replies from the demo's members (in the app context)."""
    from sqlalchemy import select

    from community.extensions import db
    from community.models import Thread, User
    from community.services.forum import threads

    if not replies:
        return
    thread = db.session.get(Thread, thread_id)
    members = db.session.execute(select(User).where(User.role == "member").order_by(User.id)).scalars().all()
    for i in range(replies):
        threads.add_reply(members[i % len(members)], thread,
                          f"Earlier reply {i + 1}: check **Settings → Power** and turn off *sleep while idle*.",
                          notify=False)
        if i % 50 == 49:
            db.session.commit()
    db.session.commit()
    db.session.remove()


class _LockHeld:
    """CPU time and statements of the request's thread while it holds the lock that serializes
    writers (``time.thread_time``: the appliers' threads of the same process are left out)."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.cpu = 0.0
        self.statements = 0
        self.since = None

    def statement(self, conn, cursor, statement, *args):
        if threading.current_thread() is not threading.main_thread():
            return
        if self.since is None and _takes_lock(statement):
            self.since = time.thread_time()
        if self.since is not None:
            self.statements += 1

    def end(self, conn):
        if self.since is not None and threading.current_thread() is threading.main_thread():
            self.cpu += time.thread_time() - self.since
            self.since = None

    def totals(self, requests: int) -> dict:
        return {"locked_cpu_ms": self.cpu * 1000 / requests, "locked_statements": self.statements / requests}


def _takes_lock(statement: str) -> bool:
    """Since 32ee8d2 the row locks are ``FOR NO KEY UPDATE``: before, only `` FOR UPDATE`` was seen,
    so on PostgreSQL the span began at the first ``UPDATE``, after the post's and users' locks."""
    head, upper = statement.lstrip()[:40].upper(), statement.upper()
    return (head.startswith(("BEGIN IMMEDIATE", "UPDATE")) or " FOR UPDATE" in upper
            or " FOR NO KEY UPDATE" in upper or "PG_ADVISORY_XACT_LOCK" in head)


def _tree(profiler, lines: int) -> str:
    """pyinstrument's tree from the endpoint down (frames under 2 % of the time left out)."""
    from pyinstrument.renderers import ConsoleRenderer

    text = ConsoleRenderer(unicode=True, color=False, show_all=False, time="seconds",
                           processor_options={"filter_threshold": 0.02}).render(profiler.last_session)
    rows = text.splitlines()
    start = next((i for i, row in enumerate(rows) if "community/api/" in row and "spec.py" not in row), 0)
    return "\n".join(rows[start:start + lines])


def _fan_out(app) -> int:
    """Apply the notification fan-out waiting (none before it existed)."""
    try:
        from community.services import fanout
    except ImportError:
        return 0
    with app.app_context():
        return fanout.apply_pending()


if __name__ == "__main__":
    main()
