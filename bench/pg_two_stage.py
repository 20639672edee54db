"""What the PostgreSQL two-stage ranking changes: the same cold queries ranked exactly and in
two stages (``community/search/postgres_plan.py``), their latency and how far the results agree.

    SQLALCHEMY_DATABASE_URI=postgresql+psycopg://postgres@127.0.0.1/search_scale_100000 \
    SEARCH_BACKEND=postgres python bench/pg_two_stage.py --corpus /tmp/search_scale/corpus-100000-s1.jsonl \
        [--queries 300] [--set TIER_ROWS=60 --set TITLE_ORDER=False] [--json out.json]

"Exact" sets ``EXACT_ROWS`` to infinity (every match ranked, the vector still read once per
row).  Agreement: per query, the share of the exact top 5 suggestions (top 20 of the search
page) that the two-stage run also returns, averaged; and the share of queries whose top 1 and
whose top 5 (as a set) are the same.  Each mode runs in its own pass over the queries, so both
are cold for the database's plan cache but not for its buffers; the order alternates per run.
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
from community.search import postgres_plan  # noqa: E402


def run(queries, call, key):
    times, answers = [], []
    for q in queries:
        started = time.perf_counter()
        out = call(q)
        times.append((time.perf_counter() - started) * 1000)
        answers.append(key(out))
    return times, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--set", action="append", default=[], help="postgres_plan.NAME=VALUE")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    for item in args.set:
        name, value = item.split("=", 1)
        setattr(postgres_plan, name, eval(value, {}))  # noqa: S307 - a bench's own knobs
    queries = make_queries(args.corpus, args.queries, seed=args.seed)
    app = create_app()
    load = os.getloadavg()[0]
    calls = {"suggest": (search.suggest, lambda out: [r["url"] for r in out]),
             "search page": (search.search, lambda out: [h.url for h in out.results])}
    result: dict = {"settings": {n: getattr(postgres_plan, n) for n in ("EXACT_ROWS", "TIER_ROWS", "TITLE_ORDER")}}
    with app.app_context():
        search.suggest("warm up printer")
        exact_rows = postgres_plan.EXACT_ROWS
        for name, (call, key) in calls.items():
            postgres_plan.EXACT_ROWS = float("inf")
            exact_t, exact_a = run(queries, call, key)
            postgres_plan.EXACT_ROWS = exact_rows
            staged_t, staged_a = run(queries, call, key)
            shared = [len(set(a) & set(b)) / len(a) for a, b in zip(exact_a, staged_a) if a]
            top1 = sum(1 for a, b in zip(exact_a, staged_a) if a[:1] == b[:1]) / len(queries)
            top5 = sum(1 for a, b in zip(exact_a, staged_a) if set(a[:5]) == set(b[:5])) / len(queries)
            result[name] = {"exact ms": summary(exact_t), "two-stage ms": summary(staged_t),
                            "agreement (share of exact results kept)": round(sum(shared) / max(len(shared), 1), 3),
                            "same top 1": round(top1, 3), "same top 5 set": round(top5, 3)}
            print(name, json.dumps(result[name]))
    result["load"] = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
    result["queries"] = len(queries)
    print("load average", result["load"], "settings", result["settings"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
