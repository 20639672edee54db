"""What a stale ``search_terms`` costs the requests (PostgreSQL backend): the first suggestion
of a process that finds the table older than ``SEARCH_PG_STATS_SECONDS``, the suggestions made
while the refresh runs, and the refresh itself.

    SQLALCHEMY_DATABASE_URI=postgresql+psycopg://postgres@127.0.0.1/pgsearch_100k SEARCH_BACKEND=postgres \
        nice python bench/pg_terms_refresh.py --corpus corpus-100000-s1.jsonl [--queries 40] [--json out.json]
    CODE_ROOT=/work/main ...   # the same against another checkout (A/B)

It marks the table stale (writes ``search_terms_refreshed.at``: run it on a copy of the
benchmark database) and refreshes it.  Wall and request-thread CPU times in ms.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if os.environ.get("CODE_ROOT"):  # another checkout: its code, not the installed one
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, os.environ["CODE_ROOT"])
else:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from bench.scale import make_queries, summary  # noqa: E402
from community import create_app, search  # noqa: E402


def timed(call, *args):
    wall, cpu = time.perf_counter(), time.thread_time()
    call(*args)
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import community
    queries = make_queries(args.corpus, 2 * args.queries + 1, seed=args.seed)
    app = create_app()
    with app.app_context():
        from sqlalchemy import text

        from community.extensions import db

        state = app.extensions["search"]
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE search_terms_refreshed SET at = now() - interval '1 day'"))
        load = os.getloadavg()[0]
        started = time.perf_counter()
        first = timed(search.suggest, queries[0])
        during = [timed(search.suggest, q) for q in queries[1:args.queries + 1]]
        waiting = getattr(state, "wait_for_refresh", None)
        if waiting:
            waiting(600)
        refreshed_after = (time.perf_counter() - started) * 1000
        fresh = db.session.execute(text("SELECT at > now() - interval '10 minutes' FROM search_terms_refreshed")).scalar()
        after = [timed(search.suggest, q) for q in queries[args.queries + 1:]]
    out = {"code": str(Path(community.__file__).resolve().parents[1]), "load": round(load, 1),
           "first suggest": {"wall": round(first[0], 1), "cpu": round(first[1], 1)},
           "suggest while refreshing": {"wall": summary([w for w, _c in during]), "cpu": summary([c for _w, c in during])},
           "table refreshed, ms from the first suggest": round(refreshed_after, 1), "table fresh": bool(fresh),
           "suggest after": {"wall": summary([w for w, _c in after]), "cpu": summary([c for _w, c in after])}}
    print(f"code {out['code']}  load {out['load']}")
    print(f"{'':28} {'wall p50/p95/max':>22} {'cpu p50/p95/max':>22}")
    print(f"{'first suggest (stale)':28} {first[0]:>22.1f} {first[1]:>22.1f}")
    for name in ("suggest while refreshing", "suggest after"):
        w, c = out[name]["wall"], out[name]["cpu"]
        print(f"{name:28} {w['p50']:>8}/{w['p95']}/{w['max']:<8} {c['p50']:>8}/{c['p95']}/{c['max']}")
    print(f"table refreshed {refreshed_after / 1000:.1f} s after the first suggest; fresh: {bool(fresh)}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
