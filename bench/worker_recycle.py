"""What a worker recycled after ``max_requests`` costs the visitors, for one or more gunicorn configs.

    python bench/worker_recycle.py [--conf gunicorn.conf.py --conf /path/to/other/gunicorn.conf.py]
                                   [--workers 1,2] [--max-requests 400] [--seconds 12] [--clients 4]
                                   [--rounds 2] [--workdir /tmp/recycle-bench] [--json out.json]

Builds the demo site once (``bench/pages.py``'s instance: SQLite + Whoosh), then for each round,
config and worker count serves it with gunicorn (``-c CONF``, ``GUNICORN_MAX_REQUESTS`` low and a
jitter of 50, so that workers recycle every second or so) and reads the home page from
``--clients`` threads in a closed loop for ``--seconds``.  It prints, per run: requests served,
workers booted, requests slower than 200 ms, the client-seconds they waited beyond 200 ms ("stalled"),
stalled seconds per recycle, p50 / p99 / max ms; and writes JSON.  The configs alternate within
a round, so a change in the machine's load falls on both.

A recycle stalls visitors for as long as the old worker takes to end (the master forks its
replacement only once it has reaped it) plus the new worker's start (fork, ``post_fork``,
``post_worker_init``'s search warm-up); with one worker nobody is served meanwhile.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import pages  # noqa: E402


def load(base: str, seconds: float, clients: int) -> list[float]:
    latencies: list[float] = []
    start = time.monotonic()

    def client():
        while time.monotonic() - start < seconds:
            began = time.monotonic()
            try:
                urllib.request.urlopen(base + "/", timeout=30).read()
            except OSError:
                continue
            latencies.append(time.monotonic() - began)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies)


def run_one(site: dict, workdir: Path, conf: Path, workers: int, max_requests: int, seconds: float,
            clients: int) -> dict:
    env = {**site["env"], "GUNICORN_MAX_REQUESTS": str(max_requests), "GUNICORN_MAX_REQUESTS_JITTER": "50",
           "REQUEST_LOG": "false"}
    log = workdir / "site.log"
    proc, base = pages.serve("bench_app:app", workdir, env, workers, log, conf=conf)
    try:
        lat = load(base, seconds, clients)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    boots = log.read_text(errors="replace").count("Booting worker with pid")
    slow = [d for d in lat if d > 0.2]
    recycles = max(1, boots - workers)
    stalled = sum(d - 0.2 for d in slow)
    pick = lambda q: round(lat[min(len(lat) - 1, int(len(lat) * q))] * 1000, 1) if lat else None  # noqa: E731
    return {"conf": str(conf), "workers": workers, "requests": len(lat), "boots": boots, "recycles": boots - workers,
            "over_200ms": len(slow), "stalled_s": round(stalled, 2), "stalled_s_per_recycle": round(stalled / recycles, 3),
            "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(lat[-1] * 1000) if lat else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conf", action="append", help="a gunicorn config file (repeatable)")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--max-requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/recycle-bench"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    confs = [Path(c).resolve() for c in (args.conf or [str(ROOT / "gunicorn.conf.py")])]
    site = pages.build_instance(args.workdir, None)
    runs = []
    load_before = os.getloadavg()[0]
    print(f"{'conf':<40} {'workers':>7} {'requests':>8} {'recycles':>8} {'>200ms':>6} {'stalled s':>9} "
          f"{'per recycle':>11} {'p50':>6} {'p99':>7} {'max':>6}")
    for _round in range(args.rounds):
        for workers in [int(w) for w in args.workers.split(",")]:
            for conf in confs:
                r = run_one(site, args.workdir, conf, workers, args.max_requests, args.seconds, args.clients)
                runs.append(r)
                print(f"{str(conf)[-40:]:<40} {workers:>7} {r['requests']:>8} {r['recycles']:>8} {r['over_200ms']:>6} "
                      f"{r['stalled_s']:>9} {r['stalled_s_per_recycle']:>11} {r['p50_ms']:>6} {r['p99_ms']:>7} "
                      f"{r['max_ms']:>6}", flush=True)
    out = {"command": " ".join(sys.argv), "load_average": [load_before, os.getloadavg()[0]],
           "max_requests": args.max_requests, "seconds": args.seconds, "clients": args.clients, "runs": runs}
    path = args.json or args.workdir / "worker-recycle.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}; JSON: {path}")


if __name__ == "__main__":
    main()
