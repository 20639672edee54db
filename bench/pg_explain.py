"""Where the PostgreSQL backend's time goes: each statement of cold suggest / search calls,
timed in the database (``EXPLAIN (ANALYZE, BUFFERS)``), the slowest plans printed.

    SQLALCHEMY_DATABASE_URI=postgresql+psycopg://postgres@127.0.0.1/search_scale_100000 \
    SEARCH_BACKEND=postgres python bench/pg_explain.py --corpus /tmp/search_scale/corpus-100000-s1.jsonl \
        [--queries 100] [--show 2] [--json out.json]

The app runs each call as usual (so the statements are the ones it sends); every
statement is then run again under ``EXPLAIN ANALYZE`` and its execution time taken
from the plan.  Prints p50/p95/p99 per call kind of the wall time of the call, the
database execution time of its statements, and the plans of the slowest ones.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale import make_queries, summary  # noqa: E402
from community import create_app, search  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=2, help="plans of the N slowest statements per kind")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from sqlalchemy import event

    from community.search import postgres

    queries = make_queries(args.corpus, args.queries, seed=args.seed)
    app = create_app()
    captured: list[tuple[str, dict]] = []
    with app.app_context():
        from community.extensions import db

        # Every statement the search sends (the rescored suggest query and the word lookups
        # included), as the driver receives it; re-run under EXPLAIN below.
        @event.listens_for(db.engine, "before_cursor_execute")
        def capturing(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")) or executemany \
                    or statement == postgres.READ_SETTINGS:
                return
            captured.append((statement, dict(parameters or {})))
    load = os.getloadavg()[0]
    out: dict = {}
    with app.app_context():
        from community.extensions import db

        search.suggest("warm up printer")
        search.search("warm up printer")
        for name, call in (("suggest", search.suggest), ("search page", search.search)):
            walls, db_ms, plans = [], [], []
            for q in queries:
                captured.clear()
                started = time.perf_counter()
                call(q)
                walls.append((time.perf_counter() - started) * 1000)
                total = 0.0
                for sql, params in list(captured):
                    with db.engine.begin() as conn:
                        conn.exec_driver_sql(postgres.READ_SETTINGS)  # as the backend reads
                        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params).scalar()
                    ms = plan[0]["Execution Time"] + plan[0]["Planning Time"]
                    total += ms
                    plans.append((ms, q, sql, params))
                db_ms.append(total)
            out[name] = {"wall": summary(walls), "database": summary(db_ms)}
            print(f"{name}: wall {out[name]['wall']}  database (plan + execution) {out[name]['database']}")
            for ms, q, sql, params in sorted(plans, key=lambda p: -p[0])[:args.show]:
                with db.engine.begin() as conn:
                    conn.exec_driver_sql(postgres.READ_SETTINGS)
                    lines = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).scalars().all()
                print(f"\n--- {ms:.1f} ms: {q!r}\n" + "\n".join(lines[:40]))
    out["load"] = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
    print("load average", out["load"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
