"""Query-time knobs of the PostgreSQL backend compared on the same cold suggestions, query by query:
the app's CPU, the database's CPU and the wall time of each, and how far each keeps the exact top 5.

    SQLALCHEMY_DATABASE_URI=postgresql+psycopg://postgres@127.0.0.1/search_scale_100000 SEARCH_BACKEND=postgres \\
    SEARCH_PG_STATS_SECONDS=100000000 python bench/pg_variants.py --corpus DIR/corpus-100000-s1.jsonl \\
        --variant 'main=postgres_plan.SUGGEST_OTHER_ROWS=100;postgres_plan.SUGGEST_RARE_ROWS=300' \\
        [--variant NAME=MODULE.NAME=VALUE[;...]] [--queries 300] [--page] [--json out.json]

Every query (``bench/scale.py``'s generator) is asked once per variant, the variants in a rotating
order, so that the load of the moment and the database's buffers weigh on each alike; "as is" is the
code unchanged, "exact" ranks every match (``postgres_plan.EXACT_ROWS`` infinite, and the knobs of
``--exact``: the reference the others are compared with).
The database's CPU is what its backends on this database spent during the call (``/proc/PID/schedstat``,
run time in nanoseconds; this needs the server on this machine): with the app's ``time.process_time``
it is the part of the latency that other work on a shared machine inflates least.  Agreement: the share
of the exact top 5 (top 20 of the search page with ``--page``) kept, the queries with the same top 1,
and those answered exactly as "as is" answers them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.knobs import applied, parse_variant  # noqa: E402
from bench.scale import make_queries, summary  # noqa: E402
from community import create_app, search  # noqa: E402


def database_cpu_ms(connection) -> float:
    """CPU time spent so far by the other backends connected to this database (ms)."""
    pids = [row[0] for row in connection.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a backend that has just gone
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=MODULE.NAME=VALUE[;...]")
    parser.add_argument("--exact", default="", metavar="MODULE.NAME=VALUE[;...]",
                        help="other knobs of the exact ranking (e.g. the window of the code before a change)")
    parser.add_argument("--page", action="store_true", help="the search page instead of suggestions")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import psycopg

    variants = [("as is", []), *(parse_variant(spec) for spec in args.variant)]
    exact_ = parse_variant(f"exact=postgres_plan.EXACT_ROWS=1e18;{args.exact}")
    queries = make_queries(args.corpus, args.queries)
    app = create_app()
    monitor = psycopg.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg", "postgresql"),
                              autocommit=True)
    runs = {name: {"wall": [], "app cpu": [], "database cpu": [], "answers": []} for name, _ in [*variants, exact_]}
    load = os.getloadavg()[0]
    with app.app_context():
        for warm in ("warm up printer", "sync settings lost"):
            search.suggest(warm)
            search.search(warm)
        for i, q in enumerate(queries):
            turn = i % len(variants)
            for name, settings in [*variants[turn:], *variants[:turn], exact_]:
                with applied(settings, app):
                    db_before = database_cpu_ms(monitor)
                    started, cpu = time.perf_counter(), time.process_time()
                    out = search.search(q) if args.page else search.suggest(q)
                    run = runs[name]
                    run["app cpu"].append((time.process_time() - cpu) * 1000)
                    run["wall"].append((time.perf_counter() - started) * 1000)
                    run["database cpu"].append(database_cpu_ms(monitor) - db_before)
                    run["answers"].append([h.url for h in out.results] if args.page else [s["url"] for s in out])
    top = 20 if args.page else 5
    exact, as_is = runs["exact"]["answers"], runs["as is"]["answers"]
    result = {"load": f"{load:.1f} -> {os.getloadavg()[0]:.1f}", "queries": len(queries),
              "variants": dict([*variants, exact_]), "runs": {}}
    for name, run in runs.items():
        both = [a + d for a, d in zip(run["app cpu"], run["database cpu"])]
        kept = [len(set(a[:top]) & set(e[:top])) / len(e[:top]) for a, e in zip(run["answers"], exact) if e]
        result["runs"][name] = {
            "wall": summary(run["wall"]), "app cpu": summary(run["app cpu"]),
            "database cpu": summary(run["database cpu"]), "app + database cpu": summary(both),
            "app + database cpu, mean": round(sum(both) / len(both), 2),
            f"exact top {top} kept": round(sum(kept) / max(len(kept), 1), 3),
            "same top 1 as exact": round(sum(a[:1] == e[:1] for a, e in zip(run["answers"], exact)) / len(queries), 3),
            "answered as 'as is'": sum(a[:top] == b[:top] for a, b in zip(run["answers"], as_is))}
        print(name, json.dumps({k: v for k, v in result["runs"][name].items()}))
    print("load average", result["load"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
