"""CPU of the bulk index writer on the same documents: adding them, and the segment commit.

    python bench/index_writer_cpu.py dump CORPUS.jsonl DOCS.pickle [--threads 3000]
    python bench/index_writer_cpu.py time DOCS.pickle [--rounds 4]
    python bench/index_writer_cpu.py children DOCS.pickle [--copies 6] [--run 3000] [--rounds 3]

``dump`` imports the first ``--threads`` threads in one process (SQLite + Whoosh in a temporary
folder) and pickles the search documents the import handed to its index writer.  ``time``
adds those documents with this checkout's ``bulk.fast_writer`` into a fresh index and commits,
``--rounds`` times, printing the process CPU of each: run it from two checkouts' roots on the
same pickle, alternated, to compare their writers without the rest of an import's noise
(``bench/import_index_cpu.py`` times the writer inside a whole import).  ``children`` hands
``--copies`` copies of the documents, 1,000 at a time, to the import's index processes
(``bulk_process.ProcessIndexer``, runs of ``--run`` documents) with one child and with two,
alternated, printing the wall time and the children's CPU: the index's part of an import whose
importer never waits.
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())


def dump(corpus: Path, out: Path, threads: int) -> None:
    root = tempfile.mkdtemp(prefix="index-writer-cpu-")
    os.environ.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{root}/community.db",
                      SEARCH_INDEX_DIR=f"{root}/index", SECRET_KEY="bench")
    from community import create_app
    from community.extensions import db
    from community.search import bulk
    from community.services.forum import import_formats, importer

    app = create_app()
    app.config["SEARCH_IMPORT_BACKGROUND"] = False
    docs: list[dict] = []
    add = bulk.BulkIndexer.add
    bulk.BulkIndexer.add = lambda self, batch: (docs.extend(batch), add(self, batch))[1]
    records = []
    for pair in import_formats.read_jsonl(corpus):
        records.append(pair)
        if len(records) >= threads:
            break
    with app.app_context():
        db.create_all()
        importer.import_records(records, commit=db.session.commit, workers=1)
    out.write_bytes(pickle.dumps(docs))
    shutil.rmtree(root, ignore_errors=True)
    print(f"{len(docs):,} documents -> {out}")


def timed(path: Path, rounds: int) -> None:
    from whoosh import index

    from community.search import bulk
    from community.search.schema import build_schema

    docs = pickle.loads(path.read_bytes())
    adds, commits = [], []
    for _ in range(rounds):
        folder = tempfile.mkdtemp(prefix="index-writer-cpu-")
        writer = bulk.fast_writer(index.create_in(folder, build_schema()).writer())
        started = time.process_time()
        for doc in docs:
            writer.add_document(**doc)
        adds.append(time.process_time() - started)
        started = time.process_time()
        writer.commit()
        commits.append(time.process_time() - started)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"| {os.getcwd()} | {len(docs):,} documents | add {' / '.join(f'{a:.3f}' for a in adds)} s "
          f"| commit {' / '.join(f'{c:.3f}' for c in commits)} s | load {os.getloadavg()[0]:.1f} |")


def children(path: Path, copies: int, run: int, rounds: int) -> None:
    import resource

    from community.search.bulk_process import ProcessIndexer
    from community.search.whoosh_index import WhooshIndex

    docs = pickle.loads(path.read_bytes()) * copies
    for _ in range(rounds):
        for count in (1, 2):
            folder = tempfile.mkdtemp(prefix="index-writer-cpu-")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            indexer = ProcessIndexer(WhooshIndex(folder), run, 30.0, children=count)
            for start in range(0, len(docs), 1000):
                indexer.add(docs[start:start + 1000])
            indexer.close()
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            shutil.rmtree(folder, ignore_errors=True)
            print(f"| {count} child{'ren' if count > 1 else ''} | {len(docs):,} documents, runs of {run:,} "
                  f"| wall {wall:.2f} s | children's CPU {cpu:.2f} s | load {os.getloadavg()[0]:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("dump")
    one.add_argument("corpus", type=Path)
    one.add_argument("out", type=Path)
    one.add_argument("--threads", type=int, default=3000)
    two = sub.add_parser("time")
    two.add_argument("docs", type=Path)
    two.add_argument("--rounds", type=int, default=4)
    three = sub.add_parser("children")
    three.add_argument("docs", type=Path)
    three.add_argument("--copies", type=int, default=6)
    three.add_argument("--run", type=int, default=3000)
    three.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.corpus, args.out, args.threads)
    elif args.command == "children":
        children(args.docs, args.copies, args.run, args.rounds)
    else:
        timed(args.docs, args.rounds)


if __name__ == "__main__":
    main()
