"""Cold suggestions (or search pages) in one process: CPU and wall time per query, and the answers,
to compare two versions of the code on the same instance (A/B, run alternately).

    SQLALCHEMY_DATABASE_URI=sqlite:///DIR/community.db SEARCH_INDEX_DIR=DIR/index \\
        python bench/suggest_cpu.py --corpus DIR/../corpus-100000-s1.jsonl --queries 150 --out a.json [--page]

The queries are ``bench/scale.py``'s (same seed), each seen once; run from the checkout whose
code is to be measured (its ``community`` package comes first on the path).  Prints the load
average and p50 / p95 / p99; ``--compare OTHER.json`` also counts the queries answered the same.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())

from bench.scale import make_queries, summary  # noqa: E402
from community import create_app, search  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--page", action="store_true", help="the search page instead of suggestions")
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    queries = make_queries(args.corpus, args.queries)
    out = {"wall": [], "cpu": [], "answers": [], "load": os.getloadavg()[0]}
    with create_app().app_context():
        for warm in ("warm up printer", "sync settings lost"):
            search.suggest(warm)
            search.search(warm)
        for q in queries:
            started, cpu = time.perf_counter(), time.process_time()
            found = search.search(q) if args.page else search.suggest(q)
            out["cpu"].append((time.process_time() - cpu) * 1000)
            out["wall"].append((time.perf_counter() - started) * 1000)
            out["answers"].append([(h.id, h.score) for h in found.results] if args.page
                                  else [(s["id"], s["score"]) for s in found])
    out["load_after"] = os.getloadavg()[0]
    print(f"load {out['load']:.1f} -> {out['load_after']:.1f}; CPU {summary(out['cpu'])}; wall {summary(out['wall'])}")
    if args.compare:
        other = json.loads(args.compare.read_text())["answers"]
        same = sum(a == [tuple(x) for x in b] for a, b in zip(out["answers"], other))
        print(f"answered as {args.compare}: {same} of {len(queries)}")
    args.out.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
