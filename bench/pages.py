"""Page throughput against a minimal Flask "hello" app, in one run, under the same gunicorn.

    python bench/pages.py [--seconds 5] [--connections 16] [--workers 2]
                          [--configs sqlite,postgres,postgres-search]
                          [--database-url postgresql+psycopg://postgres@127.0.0.1/pages_bench]
                          [--redis-url redis://127.0.0.1:6379/5]
                          [--workdir /tmp/pages-bench] [--json results.json]

One command; for each configuration of ``--configs`` (SQLite + Whoosh; PostgreSQL + Whoosh;
PostgreSQL + PostgreSQL search; the PostgreSQL ones are skipped, saying so, when nothing
answers at ``--database-url``, an empty database that each run drops and creates again):

1. builds a fresh instance in ``--workdir`` (``flask db upgrade``, ``flask demo seed``, a
   thread with 50 replies, a thread to reply to, a bench account with an API token);
2. counts SQL statements per page in-process at two data sizes (the demo site, then with 200
   more threads and the long thread at 50 replies rather than 10) to show they do not grow,
   anonymous and signed in (the signed-in requests are checked to be signed in);
3. serves the site and ``bench/hello_app.py`` with gunicorn (``gunicorn.conf.py``, sync workers,
   ``--workers`` of them) and loads each URL for ``--seconds`` at ``--connections`` connections
   with wrk (a Python load generator where wrk is not installed): hello, home, a category
   listing, the 50-reply thread anonymous and logged in, search, suggest, posting a reply and
   voting (through the API with a token): all 16 connections as ONE account on ONE thread or
   post (every write waits for the one before on that row's lock), and again as 16 members each
   replying to a thread of their own and voting on a post of their own ("16 members": a
   community's writes, which meet on no row);
4. prints a table (requests/s, ratio to hello, p50/p95/p99 ms, non-2xx, and the CPU the
   gunicorn workers spent per request, read from /proc, with its ratio to hello's) and writes
   JSON.  On a shared machine the throughput ratio moves with the other load; the CPU per
   request hardly does, and its ratio is what the throughput ratio would be on an idle machine
   where the app's CPU is the limit.

Keep runs short (the defaults take about a minute per configuration) and ``nice`` them on a
shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Issue 17's targets, in this kind of run: page -> (min ratio to hello, max p99 ms).
TARGETS = {
    "thread, 50 replies (anonymous)": (0.50, 20), "home": (0.40, None), "category": (0.40, None),
    "thread, 50 replies (logged in)": (0.20, 40), "reply (API)": (None, 60), "vote (API)": (None, 60),
    "reply, 16 members (API)": (None, 60), "vote, 16 members (API)": (None, 60),
}

#: Members of the "16 members" loads: each replies to a thread of their own and votes on a post
#: of their own (by an author of their own), so no two of them meet on a row lock.
SPREAD_MEMBERS = 16

#: The browser the bench account signs in with and loads its pages with: Flask-Login's session
#: protection marks a session whose browser changed "not fresh", a write that keeps no page.
BENCH_UA = "pages-bench/1"

WRK_SCRIPT = r"""
local counter = 0
local method, body, votes = os.getenv("BENCH_METHOD") or "GET", os.getenv("BENCH_BODY"), os.getenv("BENCH_VOTES")
-- BENCH_SPREAD: "path token;path token;..." (the "16 members" loads): each request is the next
-- member's, each of wrk's threads takes its own share of them, and each member's vote alternates.
local spread, sent = {}, {}
for path, token in string.gmatch(os.getenv("BENCH_SPREAD") or "", "(%S+) (%S+);") do
  spread[#spread + 1] = {path, token}
  sent[#spread] = 0
end
local first, share = 0, #spread
local threads_made = 0
setup = function(thread)
  thread:set("index", threads_made)
  threads_made = threads_made + 1
end
init = function(args)
  if #spread > 0 then
    local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
    share = math.floor(#spread / threads)
    first = (index or 0) * share
    for i = 1, #spread do  -- wrk.format's headers replace wrk.headers (-H): a copy with the member's token
      local headers = {}
      for key, value in pairs(wrk.headers) do headers[key] = value end
      headers["Authorization"] = "Bearer " .. spread[i][2]
      spread[i][2] = headers
    end
  end
end
request = function()
  counter = counter + 1
  local path, headers = nil, nil
  local value = counter % 2
  if #spread > 0 then
    local i = first + (counter % share) + 1
    path, headers = spread[i][1], spread[i][2]
    sent[i] = sent[i] + 1
    value = sent[i] % 2
  end
  if votes then  -- alternate 1 and 0: every request changes the vote
    return wrk.format("POST", path, headers, '{"value": ' .. value .. '}')
  end
  if body then
    return wrk.format(method, path, headers, string.gsub(body, "#N", tostring(counter)))
  end
  return wrk.format(method, path, headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH {\"requests\": %d, \"duration_us\": %d, \"socket_errors\": %d, \"non2xx\": %d, " ..
    "\"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f}\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


# -- the instance -------------------------------------------------------------------

def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def build_instance(workdir: Path, database_url: str | None, search_backend: str = "whoosh",
                   redis_url: str | None = None) -> dict:
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "instance").mkdir(parents=True)
    url = database_url or f"sqlite:///{workdir / 'instance' / 'community.db'}"
    if database_url:
        _reset_postgres(database_url)
    (workdir / "instance" / "config.py").write_text(
        "RATELIMIT_ENABLED = False\n"            # the bench posts and votes far faster than a person
        "PASSWORD_HASH_METHOD = 'pbkdf2:sha256:1000'\n"
        "SECRET_KEY = 'pages-bench'\n")
    env = {**os.environ, "DATABASE_URL": url, "SEARCH_INDEX_DIR": str(workdir / "index"),
           "INSTANCE_PATH": str(workdir / "instance"), "SEARCH_BACKEND": search_backend}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["REDIS_KEY_PREFIX"] = f"pages-bench-{os.getpid()}"
    # The app reads instance/config.py from its instance folder; create_app takes it from config.
    (workdir / "bench_app.py").write_text(
        "import os\nfrom community import create_app\n"
        "app = create_app({'INSTANCE_PATH': os.environ['INSTANCE_PATH']})\n")
    env["FLASK_APP"] = "bench_app"
    env["PYTHONPATH"] = f"{workdir}:{ROOT}"
    run = lambda *a: subprocess.run([sys.executable, "-m", "flask", "--app", "bench_app", *a], cwd=workdir,  # noqa: E731
                                    env=env, capture_output=True, text=True, check=True).stdout
    run("db", "upgrade")
    run("demo", "seed")
    return {"url": url, "env": env, "run": run}


def prepare_site(workdir: Path, env: dict, replies: int = 50, extra_threads: int = 0) -> dict:
    """In-process: the long thread, a thread to reply to, the bench account, its token and cookie."""
    _use_env(env)
    from sqlalchemy import func, select

    from community import create_app
    from community.extensions import db
    from community.models import Category, Post, Thread, User
    from community.services.accounts import users
    from community.services.forum import threads

    app = create_app({"INSTANCE_PATH": env["INSTANCE_PATH"], "WTF_CSRF_ENABLED": False})
    with app.app_context():
        category = db.session.execute(select(Category).order_by(Category.id)).scalars().first()
        bench = db.session.execute(select(User).where(User.username == "benchuser")).scalar()
        if bench is None:
            bench = users.create_user("benchuser", "bench@example.com", "bench-password-1", "moderator")
            db.session.commit()
        helpers = db.session.execute(select(User).where(User.role == "member").order_by(User.id)).scalars().all()
        long_thread = db.session.execute(select(Thread).where(Thread.title.like("Bench: %"))).scalar()
        if long_thread is None:
            long_thread = threads.create_thread(helpers[0], category, "Bench: why does the sync client stop overnight?",
                                                "The desktop sync client stops every night around 2am and "
                                                "only starts again when I log in.", ["sync", "desktop"])
            db.session.commit()
        have = db.session.execute(select(func.count()).select_from(Post)
                                  .where(Post.thread_id == long_thread.id, Post.is_question.is_(False))).scalar()
        for i in range(have, replies):
            threads.add_reply(helpers[i % len(helpers)], long_thread,
                              f"Reply {i + 1}: check **Settings → Power** and turn off *sleep while idle*; "
                              "then the client keeps syncing. See the [guide](https://example.com/guide).")
        for i in range(extra_threads):
            threads.create_thread(helpers[i % len(helpers)], category, f"Bench filler question number {i + 1}",
                                  "A question that only makes the listings longer than the demo's.", None)
        db.session.commit()
        target = threads.create_thread(helpers[1], category, f"Bench: a thread to reply to ({time.time():.0f})",
                                       "Replies posted by the benchmark land here.", None) \
            if extra_threads == 0 else None
        token = users.issue_token(bench)
        db.session.commit()
        ids = {"thread": long_thread.id, "thread_path": f"/threads/{long_thread.id}/{long_thread.slug}",
               "category_path": f"/categories/{category.slug}", "token": token,
               "reply_thread": target.id if target else None}
        vote_post = db.session.execute(select(Post.id).where(Post.thread_id == long_thread.id,
                                                              Post.is_question.is_(False))
                                       .order_by(Post.id)).scalars().first()
        ids["vote_post"] = vote_post
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = BENCH_UA
        response = client.post("/login", data={"login": "benchuser", "password": "bench-password-1"})
        assert response.status_code == 302, response.status_code
        # A browser's next pages carry the CSRF token its first page put in the session and the
        # visitor cookie it was given: without them every page would mint a token and a visitor
        # id again, and no member's page would ever be kept (page_cache_members.py).
        for _ in range(2):
            assert client.get(ids["thread_path"]).status_code == 200
        ids["cookie"] = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())
        db.session.remove()
        db.engine.dispose()
    _stop_applier(app)
    return ids


def prepare_spread(env: dict, members: int = SPREAD_MEMBERS) -> list[dict]:
    """In-process, for the "16 members" loads: ``members`` members with an API token, each
    with a thread of their own to reply to and an answer of their own to vote on, written by an
    author of their own (a vote locks its post, its author and its voter: no two members' writes
    meet on a row).  The members are 90 days old and hold reputation from one upvote each (of
    their own answer, by the bench moderator), as a community's voters do.  Returns
    [{"token", "reply_path", "vote_path"}]."""
    from datetime import timedelta

    from sqlalchemy import select

    from community import create_app
    from community.extensions import db
    from community.models import Category, User, utcnow
    from community.services.accounts import users
    from community.services.forum import threads, votes

    _use_env(env)
    app = create_app({"INSTANCE_PATH": env["INSTANCE_PATH"], "WTF_CSRF_ENABLED": False})
    out = []
    with app.app_context():
        category = db.session.execute(select(Category).order_by(Category.id)).scalars().first()
        moderator = db.session.execute(select(User).where(User.username == "benchuser")).scalar_one()
        askers = db.session.execute(select(User).where(User.role == "member").order_by(User.id)).scalars().all()
        stamp = f"{time.time():.0f}"
        for k in range(members):
            member = users.create_user(f"bench-member-{k}-{stamp}", f"member{k}.{stamp}@example.com",
                                       "bench-password-1")
            author = users.create_user(f"bench-author-{k}-{stamp}", f"author{k}.{stamp}@example.com",
                                       "bench-password-1")
            member.created_at = author.created_at = utcnow() - timedelta(days=90)
            thread = threads.create_thread(askers[k % len(askers)], category, f"Bench: member {k}'s thread to answer ({stamp})",
                                           "Replies and votes of one of the benchmark's members land here.", None)
            own = threads.add_reply(member, thread, "An answer of this member's own, upvoted for reputation.")
            target = threads.add_reply(author, thread, "The answer this member votes on in the benchmark.")
            db.session.flush()
            votes.set_vote(moderator, own, 1)
            out.append({"token": users.issue_token(member), "reply_path": f"/api/v1/threads/{thread.id}/posts",
                        "vote_path": f"/api/v1/posts/{target.id}/vote"})
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    _stop_applier(app)
    return out


def _use_env(env: dict) -> None:
    """This process's apps (built in-process) read the configuration's settings."""
    for key in ("DATABASE_URL", "SEARCH_INDEX_DIR", "SEARCH_BACKEND", "REDIS_URL", "REDIS_KEY_PREFIX"):
        if key in env:
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)


def _stop_applier(app) -> None:
    """The in-process app's indexing thread (search/queue.py) and notification fan-out
    (services/fanout.py) end with it, their rows applied: left waiting, the site's workers
    would write the seeded replies' notifications during the measured runs, each write
    throwing every member's kept page away."""
    queue = getattr(app.extensions.get("search"), "queue", None)
    if queue is not None:
        from community import search

        with app.app_context():
            search.apply_pending()
        queue.stop()
    applier = app.extensions.get("fanout")
    if applier is not None:
        from community.services import fanout

        applier.stop()
        with app.app_context():
            fanout.apply_pending(limit=100_000)


def count_statements(env: dict, paths: dict[str, str], cookie: str | None,
                     page_cache: bool = False) -> dict[str, int]:
    """SQL statements per page, in-process (one request each, after a warm-up request).

    ``page_cache=False`` counts what drawing each page costs; ``True``, what a reader of a
    page kept for anonymous readers costs (community/page_cache.py).  Pages named "logged
    in" are requested by a client holding ``cookie`` (and refused unless the page then shows
    the bench account signed in), the others by a client with no cookie at all."""
    from sqlalchemy import event

    from community import create_app
    from community.extensions import db

    _use_env(env)
    app = create_app({"INSTANCE_PATH": env["INSTANCE_PATH"], "PAGE_CACHE": page_cache,
                      "VIEW_COUNT_FLUSH_SECONDS": 3600})
    counts = {}
    with app.app_context():
        engine = db.engine
    seen = []
    listener = lambda *a, **k: seen.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    jar = [part.strip().partition("=")[::2] for part in (cookie or "").split(";") if part.strip()]
    for name, path in paths.items():
        client = app.test_client()
        signed_in = "logged in" in name
        if signed_in:
            client.environ_base["HTTP_USER_AGENT"] = BENCH_UA
            for cookie_name, value in jar:
                client.set_cookie(cookie_name, value)
        client.get(path)
        seen.clear()
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        shows_member = b"benchuser" in response.data and b'action="/logout"' in response.data
        assert shows_member == signed_in, (name, "signed in" if shows_member else "anonymous")
        counts[name] = len(seen)
    event.remove(engine, "before_cursor_execute", listener)
    engine.dispose()
    _stop_applier(app)
    return counts


# -- serving and loading ------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(module: str, cwd: Path, env: dict, workers: int, log: Path, conf: Path | None = None):
    """gunicorn with ``conf`` (the repository's ``gunicorn.conf.py``) serving ``module``; (process, base URL)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(conf or ROOT / "gunicorn.conf.py"), module],
                            cwd=cwd, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
                                          "PYTHONPATH": f"{cwd}:{ROOT}"},
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    # Up to 3 minutes: on a loaded machine (and under ``nice``) loading the app takes a while.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(base + "/", timeout=5)
            return proc, base
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    proc.wait(timeout=30)
    raise SystemExit("gunicorn did not start: " + log.read_text()[-2000:])


def workers_cpu(master_pid: int) -> float:
    """CPU seconds the gunicorn master's workers have used: those running (user + system) and
    those it has reaped (its children's times: workers recycled after ``max_requests``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == master_pid:
            total += int(fields[13]) + int(fields[14])
        elif int(fields[1]) == master_pid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def load_wrk(url: str, seconds: float, connections: int, headers: dict, method="GET", body=None,
             votes=False, spread=None) -> dict:
    """wrk on ``url``; ``spread``: [(path, token)], each request the next member's (WRK_SCRIPT)."""
    script = Path(tempfile.gettempdir()) / "pages_bench.lua"
    script.write_text(WRK_SCRIPT)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script)]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    env = {**os.environ, "BENCH_METHOD": method}
    if body:
        env["BENCH_BODY"] = body
    if votes:
        env["BENCH_VOTES"] = "1"
    if spread:
        env["BENCH_SPREAD"] = "".join(f"{path} {token};" for path, token in spread)
        env["BENCH_THREADS"] = "2"   # -t2: each thread takes its half of the members
    out = subprocess.run(command + [url], capture_output=True, text=True, env=env).stdout
    match = re.search(r"BENCH (\{.*\})", out)
    if not match:
        raise SystemExit("wrk said:\n" + out)
    data = json.loads(match.group(1))
    return {"rps": round(data["requests"] / (data["duration_us"] / 1e6), 1), "p50": round(data["p50"], 1),
            "p95": round(data["p95"], 1), "p99": round(data["p99"], 1), "requests": data["requests"],
            "non2xx": data["non2xx"] + data["socket_errors"]}


def load_python(url: str, seconds: float, connections: int, headers: dict, method="GET", body=None,
                votes=False, spread=None) -> dict:
    """The fallback load generator: ``connections`` threads, each one keep-alive connection
    (``spread``: [(path, token)], connection i sends member i's requests)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.perf_counter() + seconds
    timings, bad, lock = [], [0], threading.Lock()

    def worker(index):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine_path, mine_headers = path, headers
        if spread:
            mine_path = spread[index % len(spread)][0]
            mine_headers = {**headers, "Authorization": f"Bearer {spread[index % len(spread)][1]}"}
        n = 0
        mine = []
        while time.perf_counter() < deadline:
            n += 1
            payload = None
            if votes:
                payload = json.dumps({"value": n % 2})
            elif body:
                payload = body.replace("#N", str(n))
            started = time.perf_counter()
            conn.request(method, mine_path, body=payload, headers=mine_headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status >= 300:
                with lock:
                    bad[0] += 1
        with lock:
            timings.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    timings.sort()
    pick = lambda share: round(timings[min(len(timings) - 1, int(len(timings) * share))], 1)  # noqa: E731
    return {"rps": round(len(timings) / elapsed, 1), "p50": round(statistics.median(timings), 1),
            "p95": pick(0.95), "p99": pick(0.99), "requests": len(timings), "non2xx": bad[0]}


# -- main -----------------------------------------------------------------------------

CONFIGS = {
    "sqlite": ("SQLite + Whoosh", False, "whoosh"),
    "postgres": ("PostgreSQL + Whoosh", True, "whoosh"),
    "postgres-search": ("PostgreSQL + PostgreSQL search", True, "postgres"),
}


def postgres_reachable(url: str) -> str | None:
    """Why the PostgreSQL configurations cannot run, or None."""
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(url.rsplit("/", 1)[0] + "/postgres", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure is a reason to skip
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def run_config(args, key: str, load) -> dict:
    label, on_postgres, backend = CONFIGS[key]
    workdir = args.workdir / key
    site = build_instance(workdir, args.database_url if on_postgres else None, backend,
                          args.redis_url if on_postgres else None)
    env = site["env"]

    # SQL statements at two sizes: the demo with a 10-reply thread, then +200 threads and 50 replies.
    small = prepare_site(workdir, env, replies=10)
    pages = {"home": "/", "category": small["category_path"], "thread (anonymous)": small["thread_path"],
             "thread (logged in)": small["thread_path"], "search": "/search?q=invoice",
             "suggest": "/api/v1/suggest?q=invoice%20download"}
    statements_small = count_statements(env, pages, small["cookie"])
    ids = prepare_site(workdir, env, replies=50)
    # Each call signs the bench account in again, which ends its earlier sessions: the
    # logged-in runs use the last call's cookie (the earlier one is a visitor's with a stale cookie).
    ids["cookie"] = prepare_site(workdir, env, replies=50, extra_threads=200)["cookie"]
    statements_large = count_statements(env, pages, ids["cookie"])
    statements_kept = count_statements(env, pages, ids["cookie"], page_cache=True)

    spread = prepare_spread(env)

    hello_proc, hello = serve("hello_app:app", ROOT / "bench", {**os.environ}, args.workers, workdir / "hello.log")
    try:
        site_proc, base = serve("bench_app:app", workdir, env, args.workers, workdir / "site.log")
    except BaseException:
        hello_proc.terminate()
        hello_proc.wait(timeout=30)
        raise
    auth = {"Authorization": f"Bearer {ids['token']}", "Content-Type": "application/json"}
    runs = [
        ("hello", hello + "/hello", {}, {}),
        ("home", base + "/", {}, {}),
        ("category", base + ids["category_path"], {}, {}),
        ("thread, 50 replies (anonymous)", base + ids["thread_path"], {}, {}),
        ("thread, 50 replies (logged in)", base + ids["thread_path"], {"Cookie": ids["cookie"], "User-Agent": BENCH_UA}, {}),
        ("search", base + "/search?q=invoice", {}, {}),
        ("suggest", base + "/api/v1/suggest?q=invoice%20download", {}, {}),
        ("reply (API)", base + f"/api/v1/threads/{ids['reply_thread']}/posts", auth,
         {"method": "POST", "body": '{"body": "Bench reply number #N: restart the client and it syncs."}'}),
        ("vote (API)", base + f"/api/v1/posts/{ids['vote_post']}/vote", auth, {"method": "POST", "votes": True}),
        ("reply, 16 members (API)", base + spread[0]["reply_path"], {"Content-Type": "application/json"},
         {"method": "POST", "body": '{"body": "Bench reply number #N: restart the client and it syncs."}',
          "spread": [(m["reply_path"], m["token"]) for m in spread]}),
        ("vote, 16 members (API)", base + spread[0]["vote_path"], {"Content-Type": "application/json"},
         {"method": "POST", "votes": True, "spread": [(m["vote_path"], m["token"]) for m in spread]}),
    ]
    if args.pages:
        wanted = tuple(w.strip() for w in args.pages.split(",") if w.strip())
        runs = [run for run in runs if run[0] == "hello" or run[0].startswith(wanted)]
    results = {}
    try:
        for name, url, headers, extra in runs:
            master = hello_proc.pid if name == "hello" else site_proc.pid
            load(url, 1, min(4, args.connections), headers, **extra)  # warm every worker
            cpu = workers_cpu(master)
            results[name] = load(url, args.seconds, args.connections, headers, **extra)
            spent = workers_cpu(master) - cpu
            # None when no request finished in the run (the CPU spent then says nothing per request).
            done = results[name]["requests"]
            results[name]["cpu_ms"] = round(spent * 1000 / done, 2) if done else None
            results[name]["load"] = os.getloadavg()[0]
    finally:
        for proc in (site_proc, hello_proc):
            proc.terminate()
            try:
                proc.wait(timeout=90)  # gunicorn's graceful stop, slow on a loaded machine
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)

    hello_rps, hello_cpu = results["hello"]["rps"], results["hello"]["cpu_ms"]
    loads = [r["load"] for r in results.values()]
    print(f"\npages vs hello: {label}{' + Redis' if on_postgres and args.redis_url else ''}; gunicorn "
          f"{args.workers} sync workers, {args.connections} connections, {args.seconds:g} s each, "
          f"{'wrk' if load is load_wrk else 'Python load generator'}, {platform.node()} ({os.cpu_count()} cores), "
          f"load average {min(loads):.1f}-{max(loads):.1f}\n")
    print(f"{'page':<32} {'req/s':>7} {'× hello':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'non-2xx':>7} "
          f"{'CPU ms':>7} {'CPU × hello':>11}  target (throughput; p99)")
    for name, r in results.items():
        ratio = r["rps"] / hello_rps if hello_rps else 0
        r["ratio"] = round(ratio, 3)
        r["cpu_ratio"] = round(hello_cpu / r["cpu_ms"], 3) if r["cpu_ms"] and hello_cpu else None
        target = TARGETS.get(name)
        verdict = ""
        if target:
            ok = r["requests"] > 0 and (target[0] is None or ratio >= target[0]) and \
                (target[1] is None or r["p99"] < target[1])
            want = " ".join(filter(None, [f"≥{target[0]:.0%}" if target[0] else "",
                                          f"p99<{target[1]}" if target[1] else ""]))
            verdict = f"{want}: {'met' if ok else 'NOT met'}"
            r["target_met"] = ok
        cpu_ratio = f"{r['cpu_ratio']:.0%}" if r["cpu_ratio"] else "-"
        print(f"{name:<32} {r['rps']:>7.0f} {ratio:>7.0%} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} "
              f"{r['non2xx']:>7} {r['cpu_ms'] if r['cpu_ms'] is not None else '-':>7} {cpu_ratio:>11}  {verdict}")
    print("\nSQL statements per page drawn (demo site with a 10-reply thread → +200 threads, 50 replies),"
          " and per page served with the page cache on:")
    for name in pages:
        a, b = statements_small[name], statements_large[name]
        trend = "same" if a == b else "GROWS" if b > a else "fewer"
        print(f"  {name:<24} {a:>3} → {b:>3}  {trend:<5}   with the cache: {statements_kept[name]}")
    return {"label": label, "results": results,
            "statements": {"small": statements_small, "large": statements_large, "with_cache": statements_kept}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--configs", default="sqlite,postgres,postgres-search",
                        help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/pages_bench",
                        help="an empty PostgreSQL database for the PostgreSQL configurations (dropped and created)")
    parser.add_argument("--redis-url", help="Redis for the PostgreSQL configurations (default: none, in-memory)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pages-bench")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--pages", help="only the loads whose names start with one of these, comma-separated "
                                         "(hello always runs), e.g. 'reply,vote'")
    args = parser.parse_args()

    load = load_wrk if shutil.which("wrk") else load_python
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r}: one of {', '.join(CONFIGS)}")
    why_not = postgres_reachable(args.database_url) if any(CONFIGS[c][1] for c in configs) else None
    out = {}
    for key in configs:
        if CONFIGS[key][1] and why_not:
            print(f"\n{CONFIGS[key][0]}: skipped, no PostgreSQL at {args.database_url} ({why_not})")
            continue
        out[key] = run_config(args, key, load)
    if args.json:
        args.json.write_text(json.dumps({"configs": out, "settings": vars(args) | {
            "workdir": str(args.workdir), "json": str(args.json), "generator": load.__name__}},
            indent=2, default=str))


if __name__ == "__main__":
    main()
