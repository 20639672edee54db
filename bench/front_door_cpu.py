"""CPU per request, in-process: an anonymous reader's kept 50-reply thread through the front door.

    python bench/front_door_cpu.py [--config postgres-search] [--requests 5000] [--rounds 3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1/front_door_bench]
        [--redis-url redis://127.0.0.1:6379/5] [--workdir /tmp/front-door-bench] [--json out.json]

Builds the site as ``bench/pages.py`` does (``--config``: ``sqlite``, or ``postgres-search``
with Redis), keeps the long thread's page, then calls the WSGI callables directly, with no
socket and no gunicorn (which cost hello and the site alike), ``--requests`` times a round, and
reads the process's CPU time (``time.process_time``: on a shared machine wall time follows the
other jobs, CPU time hardly does).  Per round it prints hello's CPU µs, the front door's, their
ratio, and the front door's parts measured alone: the store's lookup (with Redis, the
generation ``GET``), the view's ``on_hit`` in its app context, and the request log line.
Writes JSON.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def environ(path: str) -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
            "REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "bench"}


def call(wsgi, path: str) -> tuple[str, int]:
    statuses = []
    body = wsgi(environ(path), lambda status, headers, exc_info=None: statuses.append(status))
    size = len(b"".join(body))
    getattr(body, "close", lambda: None)()
    return statuses[0], size


def cpu_us(work, n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        work()
    return (time.process_time() - start) * 1e6 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=("sqlite", "postgres-search"), default="postgres-search")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1/front_door_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/front-door-bench"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import logging
    import os

    import hello_app
    import pages

    on_postgres = args.config == "postgres-search"
    site = pages.build_instance(args.workdir, args.database_url if on_postgres else None,
                                "postgres" if on_postgres else "whoosh", args.redis_url if on_postgres else None)
    ids = pages.prepare_site(args.workdir, site["env"], replies=50)
    pages._use_env(site["env"])
    from community import create_app, page_cache, request_log

    app = create_app({"INSTANCE_PATH": site["env"]["INSTANCE_PATH"]})
    logging.getLogger("community").handlers[:] = [logging.StreamHandler(open(os.devnull, "w"))]
    path = ids["thread_path"]
    for _ in range(3):
        assert call(app.wsgi_app, path)[0] == "200 OK"
    entry = page_cache.fresh_entry(app, environ(path))
    assert entry is not None, "the thread page was not kept"

    def hit():
        with app.app_context():
            page_cache.tell_hit(app, entry, "127.0.0.1", "bench")

    rounds = []
    for _ in range(args.rounds):
        row = {"hello": cpu_us(lambda: call(hello_app.app.wsgi_app, "/hello"), args.requests),
               "front door": cpu_us(lambda: call(app.wsgi_app, path), args.requests),
               "lookup": cpu_us(lambda: page_cache.fresh_entry(app, environ(path)), args.requests),
               "on_hit": cpu_us(hit, args.requests),
               "log line": cpu_us(lambda: request_log.log_line("id", "GET", path, 200, 0.5, None, "127.0.0.1"),
                                  args.requests)}
        row["ratio"] = row["hello"] / row["front door"]
        rounds.append(row)
    print(f"front door, {args.config}, {args.requests} requests a round, load {os.getloadavg()[0]:.1f}")
    print(f"{'round':<6} {'hello µs':>9} {'front door µs':>14} {'× hello':>8} {'lookup':>7} {'on_hit':>7} {'log':>6}")
    for n, row in enumerate(rounds, 1):
        print(f"{n:<6} {row['hello']:>9.0f} {row['front door']:>14.0f} {row['ratio']:>8.0%} {row['lookup']:>7.0f} "
              f"{row['on_hit']:>7.0f} {row['log line']:>6.0f}")
    if args.json:
        args.json.write_text(json.dumps({"config": args.config, "requests": args.requests, "rounds": rounds,
                                         "load": os.getloadavg()[0]}, indent=2))


if __name__ == "__main__":
    main()
