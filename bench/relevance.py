"""Relevance of ``suggest`` against a plain BM25 baseline, on the same corpus in the same run.

    python bench/relevance.py bench/data/cstheory_meta.jsonl bench/data/demo.jsonl \
        --queries bench/data/dev_queries.jsonl [--misses]

The corpus files (import JSONL) are imported with ``flask import``'s code into
a fresh instance in a temporary directory.  Queries are JSONL lines
``{"query": "...", "relevant": ["external_id", ...]}``.  Reported: recall@5,
recall@10 and MRR@10 of ``community.search.suggest`` (threads), and of the
baseline: Whoosh defaults (StandardAnalyzer, BM25F, MultifieldParser over
title + question body, terms OR-ed, no boosts, no stemming, no tuning).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402
from whoosh import index as whoosh_index  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import MultifieldParser, OrGroup  # noqa: E402

from community import create_app, search  # noqa: E402
from community.extensions import db  # noqa: E402
from community.models import Thread  # noqa: E402
from community.services.forum import import_formats, importer  # noqa: E402


def metrics(ranked: list[str], relevant: set[str]) -> tuple[float, float, float]:
    def recall(k):
        return len(set(ranked[:k]) & relevant) / len(relevant)

    rank = next((i for i, key in enumerate(ranked[:10], start=1) if key in relevant), None)
    return recall(5), recall(10), (1.0 / rank if rank else 0.0)


class Baseline:
    """Plain BM25: Whoosh's defaults over title + body."""

    def __init__(self, directory: Path, records: list):
        schema = Schema(key=ID(stored=True, unique=True), title=TEXT(), body=TEXT())
        directory.mkdir()
        self.ix = whoosh_index.create_in(directory, schema)
        writer = self.ix.writer()
        for record in records:
            writer.add_document(key=record.external_id, title=record.title, body=record.body)
        writer.commit()
        self.parser = MultifieldParser(["title", "body"], schema, group=OrGroup)
        self.searcher = self.ix.searcher()

    def rank(self, text: str) -> list[str]:
        try:
            q = self.parser.parse(text)
            return [hit["key"] for hit in self.searcher.search(q, limit=10)]
        except Exception:  # the default parser can fail on odd syntax; count it as no results
            return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="+", type=Path, help="import-format JSONL file(s)")
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--misses", action="store_true", help="list queries whose first relevant hit is not in the top 5")
    parser.add_argument("--backend", choices=("whoosh", "postgres"), default="whoosh")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/search_relevance",
                        help="an empty database the benchmark may fill and drop (postgres backend)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="relevance-"))
    uri = args.pg_url if args.backend == "postgres" else f"sqlite:///{root / 'bench.db'}"
    if args.backend == "postgres":
        import psycopg

        base, _, name = args.pg_url.replace("postgresql+psycopg", "postgresql").rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    app = create_app({"INSTANCE_PATH": str(root), "SQLALCHEMY_DATABASE_URI": uri, "SEARCH_BACKEND": args.backend,
                      "SEARCH_INDEX_DIR": str(root / "index"), "SECRET_KEY": "bench", "TESTING": True})
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    with app.app_context():
        db.create_all()
        search.create_schema()
        records = []
        for path in args.corpus:
            for line, record in import_formats.read_jsonl(path):
                if isinstance(record, str):
                    print(f"{path}: line {line}: {record}", file=sys.stderr)
                else:
                    records.append(record)
        started = time.perf_counter()
        report = importer.import_records(((0, r) for r in records), commit=db.session.commit)
        print(f"corpus: {report.created} threads ({report.answers} answers) imported and indexed in "
              f"{time.perf_counter() - started:.1f}s; {len(queries)} queries")
        ids = dict(db.session.execute(select(Thread.id, Thread.external_id)).all())
        baseline = Baseline(root / "baseline", records)

        rows = {"suggest (tuned)": [], "BM25 baseline": []}
        latencies, misses = [], []
        for item in queries:
            relevant = set(item["relevant"])
            started = time.perf_counter()
            hits = search.suggest(item["query"], limit=10, types=("thread",))
            latencies.append((time.perf_counter() - started) * 1000)
            ranked = [ids[h["id"]] for h in hits]
            rows["suggest (tuned)"].append(metrics(ranked, relevant))
            rows["BM25 baseline"].append(metrics(baseline.rank(item["query"]), relevant))
            if args.misses and rows["suggest (tuned)"][-1][0] == 0:
                misses.append((item["query"], item["relevant"], ranked[:3]))

    print()
    print(f"backend: {args.backend}")
    print(f"{'system':<18} {'recall@5':>9} {'recall@10':>10} {'MRR@10':>8}")
    for name, values in rows.items():
        r5, r10, mrr = (statistics.mean(column) for column in zip(*values))
        print(f"{name:<18} {r5:>9.3f} {r10:>10.3f} {mrr:>8.3f}")
    latencies.sort()
    print(f"\nsuggest latency over {len(latencies)} queries: p50 {statistics.median(latencies):.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f} ms")
    for query, relevant, got in misses:
        print(f"MISS {query!r}: want {relevant}, got {got}")


if __name__ == "__main__":
    main()
