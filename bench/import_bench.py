"""Import benchmark: N threads (default 100,000) into a fresh SQLite + Whoosh instance, or PostgreSQL.

    python bench/import_bench.py [--threads 100000] [--keep DIR] [--corpus realistic|synthetic]
                                 [--backend whoosh|postgres] [--pg-url URL] [--pg-db NAME] [--env NAME=VALUE]

Generates the JSONL first (not timed), then times ``flask import`` exactly as
a user runs it, and reports threads per second, the CPU of every process
(the load-independent part on a shared machine), the load average and the index size.
``--corpus realistic`` (the default) is ``bench/corpus.py`` (``bench/data/README.md``);
``synthetic`` the older ``bench/synthetic.py``, kept for comparison with old figures.
``--backend postgres`` imports into a database created afresh (dropped first if it exists,
left for inspection) with its search backend; the CPU figure is then the app's processes, and
the database's is the CPU of the server processes connected to that database (read from
``/proc`` every 0.2 s while the import runs: the server must be on this machine).
``--json FILE`` writes the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import corpus, synthetic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="instance directory to use and keep")
    parser.add_argument("--corpus", choices=("realistic", "synthetic"), default="realistic")
    parser.add_argument("--backend", choices=("whoosh", "postgres"), default="whoosh")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--pg-db", default="import_bench")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the import (e.g. SEARCH_BULK_COMMIT_EVERY=10000); repeatable")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="import-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    data = root / "threads.jsonl"
    started = time.perf_counter()
    if args.corpus == "realistic":
        corpus.write(data, args.threads, 1)
    else:
        synthetic.write(data, args.threads)
    print(f"generated {args.threads:,} threads in {time.perf_counter() - started:.1f}s -> {data} "
          f"({data.stat().st_size / 1e6:.0f} MB)")
    env = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'community.db'}", "SEARCH_BACKEND": args.backend,
           "SEARCH_INDEX_DIR": str(root / "index"), "SECRET_KEY": "bench", "PATH": "/usr/bin:/bin"}
    env.update(setting.split("=", 1) for setting in args.env)
    if args.backend == "postgres":
        import psycopg

        with psycopg.connect(f"{args.pg_url.replace('postgresql+psycopg', 'postgresql')}/postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.pg_db}"')
        env["SQLALCHEMY_DATABASE_URI"] = f"{args.pg_url}/{args.pg_db}"
    flask = [sys.executable, "-m", "flask", "--app", "community"]
    subprocess.run(flask + ["db", "upgrade"], env=env, check=True, capture_output=True)
    import resource

    load = os.getloadavg()[0]
    server = ServerCpu(args.pg_url, args.pg_db) if args.backend == "postgres" else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(flask + ["import", str(data)], env=env, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    db_cpu = server.stop() if server else None
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(done.stdout.strip())
    size = sum(p.stat().st_size for p in (root / "index").glob("*")) / 1e6 if (root / "index").exists() else 0
    loads = (load, os.getloadavg()[0])
    database = (f"; database server CPU {db_cpu:.1f}s ({db_cpu / args.threads * 1000:.2f} ms a thread)"
                if db_cpu is not None else "")
    print(f"RESULT: {args.threads:,} threads ({args.corpus}, {args.backend}) in {elapsed:.1f}s wall (process start "
          f"included) = {args.threads / elapsed:,.0f} threads/s; CPU of all processes {cpu:.1f}s "
          f"({cpu / args.threads * 1000:.2f} ms a thread){database}; load {loads[0]:.1f} -> {loads[1]:.1f}; "
          f"index {size:.0f} MB; instance {root}")
    if args.json:
        args.json.write_text(json.dumps({
            "threads": args.threads, "corpus": args.corpus, "backend": args.backend,
            "seconds": round(elapsed, 1), "threads_per_s": round(args.threads / elapsed),
            "app_cpu_s": round(cpu, 1), "app_cpu_ms_per_thread": round(cpu / args.threads * 1000, 3),
            "db_cpu_s": None if db_cpu is None else round(db_cpu, 1),
            "db_cpu_ms_per_thread": None if db_cpu is None else round(db_cpu / args.threads * 1000, 3),
            "env": args.env, "load": list(loads), "output": done.stdout.strip(),
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n")


class ServerCpu:
    """CPU seconds of the PostgreSQL server processes connected to one database, summed over the
    processes seen (each read every 0.2 s until it goes: the last 0.2 s of each may be missed)."""

    def __init__(self, url: str, name: str):
        import psycopg

        self._conn = psycopg.connect(f"{url.replace('postgresql+psycopg', 'postgresql')}/postgres", autocommit=True)
        self._name, self._seen, self._done = name, {}, threading.Event()
        self._tick = os.sysconf("SC_CLK_TCK")
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.wait(0.2):
            pids = [row[0] for row in self._conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self._name,))]
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self._seen[pid] = (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        self._conn.close()
        return sum(self._seen.values())


if __name__ == "__main__":
    main()
