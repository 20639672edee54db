"""How long SQLite writers wait for the write lock: SQLite's busy handler against the writers' queue.

    python bench/sqlite_writer_wait.py [--seconds 5] [--rounds 2] [--processes 2]
                                       [--outside-ms 2] [--inside-ms 2] [--json out.json]

``--processes`` processes, each in a loop: ``--outside-ms`` of CPU (a request's work before its
lock), ``BEGIN IMMEDIATE``, an ``UPDATE`` of one row, ``--inside-ms`` of CPU, ``COMMIT``; on a file
database in WAL mode with the app's busy timeout.  "busy": plain ``sqlite3`` connections (SQLite's
busy handler sleeps 1, 2, 5, 10, ... 100 ms between tries); "queue": the app's
``extensions.WriterQueueConnection`` (a ``flock`` beside the database, taken before ``BEGIN
IMMEDIATE`` and let go at the commit).  Prints commits/s, the wait for the lock (p50, p99, max) and
CPU per commit for each, the modes alternated ``--rounds`` times (on a shared machine the load
moves between runs).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _spin(ms: float) -> None:
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass


def _worker(path: str, mode: str, seconds: float, outside: float, inside: float, out) -> None:
    from community.extensions import WriterQueueConnection

    factory = WriterQueueConnection if mode == "queue" else sqlite3.Connection
    conn = sqlite3.connect(path, isolation_level=None, factory=factory)
    conn.execute("PRAGMA busy_timeout = 30000")
    waits, done = [], 0
    end = time.monotonic() + seconds
    cpu = time.process_time()
    while time.monotonic() < end:
        _spin(outside)
        started = time.perf_counter()
        if mode == "queue":
            conn.take_turn()
        conn.execute("BEGIN IMMEDIATE")
        waits.append((time.perf_counter() - started) * 1000)
        conn.execute("UPDATE t SET n = n + 1 WHERE id = 1")
        _spin(inside)
        conn.commit()
        done += 1
    out.put((done, waits, time.process_time() - cpu))
    conn.close()


def run(mode: str, args) -> dict:
    path = str(args.workdir / "wait.db")
    queue = mp.Queue()
    procs = [mp.Process(target=_worker, args=(path, mode, args.seconds, args.outside_ms, args.inside_ms, queue))
             for _ in range(args.processes)]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    done = sum(r[0] for r in results)
    waits = sorted(w for r in results for w in r[1])
    pick = lambda share: round(waits[min(len(waits) - 1, int(len(waits) * share))], 2)  # noqa: E731
    return {"mode": mode, "commits_per_s": round(done / args.seconds, 1), "wait_p50_ms": pick(0.5),
            "wait_p99_ms": pick(0.99), "wait_max_ms": round(waits[-1], 2),
            "cpu_ms_per_commit": round(sum(r[2] for r in results) * 1000 / done, 2),
            "load": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--outside-ms", type=float, default=2)
    parser.add_argument("--inside-ms", type=float, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "sqlite-writer-wait")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for name in ("wait.db", "wait.db-wal", "wait.db-shm"):
        (args.workdir / name).unlink(missing_ok=True)
    setup = sqlite3.connect(args.workdir / "wait.db", isolation_level=None)
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    setup.execute("INSERT INTO t VALUES (1, 0)")
    setup.close()
    print(f"{args.processes} processes: {args.outside_ms:g} ms CPU, BEGIN IMMEDIATE, UPDATE, {args.inside_ms:g} ms CPU, "
          f"COMMIT; {args.seconds:g} s a run, {os.cpu_count()} cores")
    print(f"{'mode':<6} {'commits/s':>10} {'wait p50':>9} {'p99':>8} {'max':>8} {'CPU ms/commit':>14} {'load':>5}")
    rows = []
    for _ in range(args.rounds):
        for mode in ("busy", "queue"):
            r = run(mode, args)
            rows.append(r)
            print(f"{mode:<6} {r['commits_per_s']:>10.0f} {r['wait_p50_ms']:>9.2f} {r['wait_p99_ms']:>8.2f} "
                  f"{r['wait_max_ms']:>8.2f} {r['cpu_ms_per_commit']:>14.2f} {r['load']:>5.1f}")
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "settings": vars(args) | {
            "workdir": str(args.workdir), "json": str(args.json)}}, indent=2))


if __name__ == "__main__":
    main()
