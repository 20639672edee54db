"""What the two-stage plan's title set costs: for each cold suggestion that takes two stages, the
title set alone (``postgres_plan.title_tier``) timed in the database under ``EXPLAIN ANALYZE``
(run twice, the second timed: warm buffers), with the rows it read, in each variant of
``--variant`` (knobs as ``bench/pg_variants.py`` takes them), and its scan alone (the rows
read, not ranked).

    SQLALCHEMY_DATABASE_URI=postgresql+psycopg://postgres@127.0.0.1/DB SEARCH_BACKEND=postgres \\
    SEARCH_PG_STATS_SECONDS=100000000 python bench/pg_title.py --corpus DIR/corpus-100000-s1.jsonl \\
        [--queries 300] [--variant NAME=MODULE.NAME=VALUE[;...]] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.knobs import applied, parse_variant  # noqa: E402
from bench.scale import make_queries, summary  # noqa: E402
from community import create_app  # noqa: E402


def _rows_read(node: dict) -> int:
    """The rows the plan's heap scans returned (their ``Actual Rows``, loops included)."""
    own = node.get("Actual Rows", 0) * node.get("Actual Loops", 1) if "Heap" in node.get("Node Type", "") \
        or node.get("Node Type") in ("Index Scan", "Seq Scan", "Tid Scan") else 0
    return own + sum(_rows_read(child) for child in node.get("Plans", ()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=MODULE.NAME=VALUE[;...]")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from flask import current_app

    from community.search import postgres, postgres_plan

    variants = [("as is", []), *(parse_variant(spec) for spec in args.variant)]
    queries = make_queries(args.corpus, args.queries)
    app = create_app()
    out: dict = {"load": os.getloadavg()[0], "runs": {}}
    with app.app_context():
        from community.extensions import db

        backend = current_app.extensions["search"]
        runs = {name: {"ms": [], "rows": [], "unordered ms": []} for name, _ in variants}
        staged = 0
        for q in queries:
            for name, settings in variants:
                with applied(settings, app):
                    prepared = backend._prepared(q, prefix=True)
                    if prepared is None or postgres_plan.exact(prepared[0]):
                        continue
                    built = prepared[0]
                    params = dict(built.params, types=["thread", "article", "idea"])
                    sql = postgres_plan.title_tier(built, " AND type = ANY(CAST(:types AS text[]))", "ctid",
                                                   f"LIMIT {postgres_plan.TIER_ROWS}")
                    if name == "as is":
                        staged += 1
                    run = runs[name]
                    start = sql.find("(SELECT ctid AS found")
                    scan = sql[start + 1:sql.find(") AS t", start)] if start >= 0 else sql
                    for key, statement in (("ms", sql), ("unordered ms", f"SELECT count(*) FROM ({scan}) AS s")):
                        with db.engine.begin() as conn:
                            conn.exec_driver_sql(postgres.READ_SETTINGS)
                            for _ in range(2):
                                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) "
                                                            + postgres.driver_sql(statement), params).scalar()
                        run[key].append(plan[0]["Execution Time"] + plan[0]["Planning Time"])
                        if key == "ms":
                            run["rows"].append(_rows_read(plan[0]["Plan"]))
        for name, run in runs.items():
            n = max(len(run["ms"]), 1)
            out["runs"][name] = {"title set ms": summary(run["ms"]), "mean ms": round(sum(run["ms"]) / n, 2),
                                 "rows read": summary(run["rows"]), "mean rows": round(sum(run["rows"]) / n, 1),
                                 "the scan alone, ms": summary(run["unordered ms"]),
                                 "the scan alone, mean": round(sum(run["unordered ms"]) / n, 2)}
            print(name, json.dumps(out["runs"][name]))
    out["two-stage queries"] = staged
    out["load"] = f"{out['load']:.1f} -> {os.getloadavg()[0]:.1f}"
    print("two-stage queries", staged, "load", out["load"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
