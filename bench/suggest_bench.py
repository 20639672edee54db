"""Latency of ``suggest`` and of the search page's ``search`` on an existing instance.

    SQLALCHEMY_DATABASE_URI=sqlite:///.../community.db SEARCH_INDEX_DIR=.../index \
        python bench/suggest_bench.py [--queries bench/data/dev_queries.jsonl] [--rounds 3]

Each query is also cut to its first 1, 2 and 3 words, like a title being typed.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from community import create_app, search  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=Path(__file__).parent / "data" / "dev_queries.jsonl")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = []
    for line in args.queries.read_text().splitlines():
        words = json.loads(line)["query"].split()
        texts += [" ".join(words[:n]) for n in (1, 2, 3)] + [" ".join(words)]
    app = create_app()
    with app.app_context():
        print(f"index: {search.count():,} documents; {len(texts)} queries x {args.rounds} rounds")
        for name, call in (("suggest", lambda t: search.suggest(t)),
                           ("search page", lambda t: search.search(t, page=1))):
            call("warm up")
            timings = []
            for _ in range(args.rounds):
                for text in texts:
                    started = time.perf_counter()
                    call(text)
                    timings.append((time.perf_counter() - started) * 1000)
            print(f"{name:<12} p50 {statistics.median(timings):6.1f} ms   p95 {percentile(timings, .95):6.1f} ms"
                  f"   p99 {percentile(timings, .99):6.1f} ms")


if __name__ == "__main__":
    main()
