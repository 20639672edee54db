"""Where a reply and a vote spend their time, in-process: CPU per request and pyinstrument's tree.

    python bench/write_profile.py [--requests 40] [--database-url postgresql+psycopg://...]
                                  [--search-backend whoosh|postgres] [--thread-replies 0]
                                  [--workdir /tmp/write-profile] [--lines 30] [--json out.json]
                                  [--show-statements N] [--appliers] [--sample-threads]

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

``--appliers``: the search queue's and the fan-out's applier threads run beside the requests, as
in a gunicorn worker, and each kind's loop ends when both queues are empty; "process CPU ms" is
then the whole process's CPU (``time.process_time``: every thread) per request, what a saturated
worker spends on each write, the work after the response included.  ``--sample-threads`` adds,
over another loop, the functions every thread spent its wall time in (a stack sample of all threads
every millisecond; pyinstrument sees only the thread it started in).
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
    parser.add_argument("--appliers", action="store_true",
                        help="run the search queue's and fan-out's threads; report the whole process's CPU")
    parser.add_argument("--sample-threads", action="store_true",
                        help="with --appliers: sample every thread's stack over another loop of each kind")
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
                      "NOTIFY_FANOUT_APPLIER": args.appliers})
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
        if args.appliers:
            _drained(app)
        wall, cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
        marks = []
        for i in range(args.requests):
            marks.append(len(statements))
            response = send(i)
            assert response.status_code == ok, (name, response.status_code, response.get_data(as_text=True))
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        if args.appliers:
            _drained(app)
        process_cpu = time.process_time() - process_cpu
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
        if args.appliers:
            results[name]["process_cpu_ms"] = process_cpu * 1000 / args.requests
        if args.sample_threads and args.appliers:
            sampler = _ThreadSampler()
            sampler.start()
            for i in range(args.requests):
                send(3 * args.requests + i)
            _drained(app)
            sampler.stop()
            trees[name + " (every thread)"] = sampler.report(args.lines)
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
              f"{r['locked_cpu_ms']:>14.2f} {r['locked_statements']:>11.1f} {r['after_response_cpu_ms']:>22.1f}"
              + (f"   process CPU ms (every thread): {r['process_cpu_ms']:.1f}" if "process_cpu_ms" in r else ""))
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


def _drained(app, timeout: float = 60.0) -> None:
    """Wait until the search queue and the fan-out have nothing waiting (their threads apply them)."""
    from community import search
    from community.extensions import db
    from community.services import fanout

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            waiting = fanout.pending() + (search.pending() or 0)
            db.session.remove()
        if not waiting:
            return
        time.sleep(0.005)
    raise SystemExit("the appliers did not drain their queues in time")


class _ThreadSampler:
    """Every thread's stack every millisecond: the wall share of each function (inclusive) per thread
    name, waits for a wake-up left out (pyinstrument follows one thread only)."""

    IDLE = ("threading.py:wait", "threading.py:_wait_for_tstate_lock", "background.py:_run")

    def __init__(self, interval: float = 0.001):
        self.interval, self.counts, self.totals = interval, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def _run(self):
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                top = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
                if top in self.IDLE:
                    continue
                name = names.get(ident, "?")
                seen, counts = set(), self.counts.setdefault(name, {})
                self.totals[name] = self.totals.get(name, 0) + 1
                while frame is not None:
                    path = frame.f_code.co_filename
                    if "/community/" in path:
                        label = f"{path.split('/community/', 1)[1]}:{frame.f_code.co_name}"
                        if label not in seen:
                            seen.add(label)
                            counts[label] = counts.get(label, 0) + 1
                    frame = frame.f_back

    def report(self, lines: int) -> str:
        out = []
        for name, total in sorted(self.totals.items(), key=lambda item: -item[1]):
            out.append(f"{name}: {total} samples of {self.interval * 1000:.0f} ms (wall, busy)")
            ranked = sorted(self.counts[name].items(), key=lambda item: -item[1])[:lines]
            out += [f"  {count * 100 / total:5.1f} %  {label}" for label, count in ranked if count * 50 >= total]
        return "\n".join(out)


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
