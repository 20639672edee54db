"""Where suggest and the search page spend their time: pyinstrument over cold queries.

    SQLALCHEMY_DATABASE_URI=sqlite:///.../community.db SEARCH_INDEX_DIR=.../index \
        python bench/profile_search.py --corpus /tmp/community-scale/corpus-20000-s1.jsonl [--queries 200]

Needs ``pip install pyinstrument`` (a development tool, not a dependency).
Prints the heaviest frames (self time) of each, the lines quoted in docs/search.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale import make_queries  # noqa: E402
from community import create_app, search  # noqa: E402


def heaviest(session, count: int = 15) -> list[tuple[float, str]]:
    """(self seconds, "function file:line") of the frames with the most self time."""
    totals: dict[str, float] = {}

    def walk(frame):
        key = f"{frame.function} {Path(frame.file_path or '?').name}:{frame.line_no}"
        totals[key] = totals.get(key, 0.0) + frame.total_self_time
        for child in frame.children:
            walk(child)

    walk(session.root_frame())
    return sorted(((t, k) for k, t in totals.items()), reverse=True)[:count]


def main() -> None:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    queries = make_queries(args.corpus, args.queries, seed=11)
    app = create_app()
    with app.app_context():
        search.suggest("warm up")
        for name, call in (("suggest", search.suggest), ("search page", search.search)):
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for q in queries:
                call(q)
            profiler.stop()
            total = profiler.last_session.duration
            print(f"\n{name}: {len(queries)} queries, {total:.2f}s ({total / len(queries) * 1000:.1f} ms each)")
            for seconds, where in heaviest(profiler.last_session):
                print(f"  {seconds / total * 100:5.1f}%  {where}")


if __name__ == "__main__":
    main()
