"""Where a gunicorn worker's time goes under a write load: py-spy on every worker, stacks summed.

    python bench/write_spy.py [--database-url postgresql+psycopg://postgres@127.0.0.1/NAME]
                              [--search-backend whoosh|postgres] [--redis-url redis://...]
                              [--load "vote (API)"] [--seconds 15] [--workdir /tmp/write-spy]
                              [--idle] [--lines 30] [--json out.json]

Builds the site of ``bench/pages.py`` (its ``build_instance``, ``prepare_site`` and
``prepare_spread``), serves it with the same gunicorn (2 sync workers), runs one of its write
loads with wrk (16 connections) and, over the same seconds, ``py-spy record --format raw`` on each
worker (every thread, ``--idle`` to count waiting too, else CPU only).  Prints the worker CPU per
request, the share of samples of each thread (the request's, the search queue's, the fan-out's),
and the functions by inclusive and self share; ``--json`` writes them.  py-spy attaches with
ptrace (root, or ``kernel.yama.ptrace_scope`` 0).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

LOADS = ("reply (API)", "vote (API)", "reply, 16 members (API)", "vote, 16 members (API)")


def _workers(master: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                out.append(int(entry))
    return sorted(out)


def _frames(line: str):
    """A raw py-spy line: 'thread (0x..);frame;frame;... count' -> (thread name, frames, count)."""
    stack, _, count = line.rpartition(" ")
    parts = stack.split(";")
    return parts[0], parts[1:], int(count)


def summarise(paths: list[Path], lines: int) -> dict:
    threads, inclusive, own = collections.Counter(), collections.Counter(), collections.Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            _thread, frames, count = _frames(line)
            total += count
            # a frame: "function (module/path.py:line)": keep function and file, not the line
            names = []
            for frame in frames:
                func, _, where = frame.partition(" (")
                names.append(f"{func} ({where.rsplit(':', 1)[0].rsplit('/', 2)[-1] if where else '?'})")
            threads[_thread_kind(names)] += count
            for name in set(names):
                inclusive[name] += count
            if names:
                own[names[-1]] += count
    share = lambda c: round(100 * c / total, 1) if total else 0  # noqa: E731
    return {"samples": total,
            "threads": {k: share(v) for k, v in threads.most_common()},
            "inclusive": [(k, share(v)) for k, v in inclusive.most_common(lines)],
            "self": [(k, share(v)) for k, v in own.most_common(lines)]}


def _thread_kind(names: list[str]) -> str:
    text = " ".join(names)
    if "handle_request" in text or "wsgi_app" in text:
        return "request"
    if "fanout" in text:
        return "fan-out applier"
    if "queue" in text:
        return "search queue"
    return "other (" + (names[-1] if names else "?") + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--search-backend", choices=("whoosh", "postgres"), default="whoosh")
    parser.add_argument("--redis-url")
    parser.add_argument("--load", default="vote (API)", choices=LOADS)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "write-spy")
    parser.add_argument("--idle", action="store_true", help="count samples of waiting threads too")
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--lines", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import pages

    site = pages.build_instance(args.workdir, args.database_url, args.search_backend, args.redis_url)
    env = site["env"]
    ids = pages.prepare_site(args.workdir, env, replies=50)
    spread = pages.prepare_spread(env)
    proc, base = pages.serve("bench_app:app", args.workdir, env, 2, args.workdir / "site.log")
    body = '{"body": "Bench reply number #N: restart the client and it syncs."}'
    auth = {"Authorization": f"Bearer {ids['token']}", "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}
    url, headers, extra = {
        "reply (API)": (f"/api/v1/threads/{ids['reply_thread']}/posts", auth, {"method": "POST", "body": body}),
        "vote (API)": (f"/api/v1/posts/{ids['vote_post']}/vote", auth, {"method": "POST", "votes": True}),
        "reply, 16 members (API)": (spread[0]["reply_path"], plain, {
            "method": "POST", "body": body, "spread": [(m["reply_path"], m["token"]) for m in spread]}),
        "vote, 16 members (API)": (spread[0]["vote_path"], plain, {
            "method": "POST", "votes": True, "spread": [(m["vote_path"], m["token"]) for m in spread]}),
    }[args.load]
    try:
        pages.load_wrk(base + url, 2, 4, headers, **extra)   # warm both workers
        workers = _workers(proc.pid)
        outs = [args.workdir / f"spy-{pid}.txt" for pid in workers]
        spies = [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
                                   "--format", "raw", "--rate", str(args.rate), "--duration", str(args.seconds),
                                   "--threads", "--output", str(out), "--nonblocking"]
                                  + (["--idle"] if args.idle else []),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for pid, out in zip(workers, outs)]
        time.sleep(1)
        cpu = pages.workers_cpu(proc.pid)
        result = pages.load_wrk(base + url, args.seconds - 2, args.connections, headers, **extra)
        result["cpu_ms"] = round((pages.workers_cpu(proc.pid) - cpu) * 1000 / max(1, result["requests"]), 2)
        result["load"] = os.getloadavg()[0]
        for spy in spies:
            spy.wait(timeout=args.seconds + 60)
    finally:
        proc.terminate()
        proc.wait(timeout=90)
    summary = summarise([o for o in outs if o.exists()], args.lines)
    print(f"{args.load}: {result}")
    print(f"py-spy samples {summary['samples']} ({'wall, idle included' if args.idle else 'CPU'}), by thread: "
          f"{summary['threads']}")
    print("\ninclusive %  function")
    for name, pct in summary["inclusive"]:
        print(f"{pct:>10}  {name}")
    print("\nself %  function")
    for name, pct in summary["self"]:
        print(f"{pct:>7}  {name}")
    if args.json:
        args.json.write_text(json.dumps({"load": args.load, "result": result, **summary,
                                         "settings": vars(args) | {"workdir": str(args.workdir),
                                                                   "json": str(args.json)}}, indent=2))


if __name__ == "__main__":
    main()
