"""What a full garbage collection costs in a served process, with and without ``gc.freeze()``.

    SQLALCHEMY_DATABASE_URI=sqlite:///DIR/community.db SEARCH_INDEX_DIR=DIR/index \\
        python bench/gc_pause.py freeze|nofreeze --corpus CORPUS [--queries 40]

Builds the app as ``wsgi.py`` does (then freezes, or not), warms the search as a gunicorn
worker does, answers ``--queries`` cold suggestions (``bench/scale.py``'s), then times
``gc.collect()`` five times (CPU ms) and prints how many objects the collector tracks.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())

from bench.scale import make_queries  # noqa: E402
from community import create_app, search  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("freeze", "nofreeze"))
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    queries = make_queries(args.corpus, args.queries)
    app = create_app()
    if args.mode == "freeze":
        gc.freeze()
    with app.app_context():
        search.warm()
        for q in queries:
            search.suggest(q)
        pauses = []
        for _ in range(5):
            started = time.process_time()
            gc.collect()
            pauses.append(round((time.process_time() - started) * 1000, 1))
    print(f"{args.mode}: load {os.getloadavg()[0]:.1f}; tracked objects {len(gc.get_objects())}, "
          f"frozen {gc.get_freeze_count()}; full collection CPU ms {pauses}")


if __name__ == "__main__":
    main()
