"""CPU of the bulk index writer alone (Whoosh documents and commits) over an import, in-process.

    python bench/import_index_cpu.py CORPUS.jsonl [--threads 5000] [--json OUT]

``bench/import_bench.py`` times the whole command (workers, index child, SQL); on a shared
machine its wall figure is mostly the load.  This runs the same ``import_records`` in one
process (``SEARCH_IMPORT_BACKGROUND`` off, Markdown in-process) into a fresh SQLite + Whoosh
instance and counts the process CPU spent inside ``BulkIndexer.add`` and Whoosh's commit:
the index child's work of a real import, per thread.  Run from a checkout's root to measure
that checkout (A/B: the same corpus, back to back).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="import-index-cpu-")
    os.environ.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{root}/community.db",
                      SEARCH_INDEX_DIR=f"{root}/index", SECRET_KEY="bench")
    from whoosh.writing import SegmentWriter

    from community import create_app
    from community.extensions import db
    from community.search import bulk
    from community.services.forum import import_formats, importer

    app = create_app()
    app.config["SEARCH_IMPORT_BACKGROUND"] = False
    spent = [0.0, 0.0]  # documents added, commits (a commit inside add counts as commit only)

    def timed(function, slot: int):
        def run(*a, **k):
            started = time.process_time()
            try:
                return function(*a, **k)
            finally:
                used = time.process_time() - started
                spent[slot] += used
                if slot == 1 and timing:
                    spent[0] -= used  # a commit inside add: not the adding
        return run

    timing: list = []
    add = timed(bulk.BulkIndexer.add, 0)

    def add_marked(*a, **k):
        timing.append(1)
        try:
            return add(*a, **k)
        finally:
            timing.pop()

    bulk.BulkIndexer.add = add_marked
    SegmentWriter.commit = timed(SegmentWriter.commit, 1)
    records = []
    for pair in import_formats.read_jsonl(args.corpus):
        records.append(pair)
        if len(records) >= args.threads:
            break
    with app.app_context():
        db.create_all()
        started = time.process_time()
        report = importer.import_records(records, commit=db.session.commit, workers=1)
        total = time.process_time() - started
    index_cpu = spent[0] + spent[1]
    result = {"checkout": os.getcwd(), "threads": report.created, "indexed": report.indexed,
              "add_cpu_s": round(spent[0], 3), "commit_cpu_s": round(spent[1], 3),
              "index_cpu_s": round(index_cpu, 3), "index_ms_per_thread": round(index_cpu / report.created * 1000, 4),
              "import_cpu_s": round(total, 3), "load": os.getloadavg()[0]}
    print(f"| {result['checkout']} | {report.created:,} threads | index writer CPU {index_cpu:.2f} s "
          f"= {result['index_ms_per_thread']:.3f} ms a thread (add {spent[0]:.2f} s, commit {spent[1]:.2f} s) | whole import CPU {total:.2f} s | load {result['load']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
