"""CPU of the import's Markdown rendering alone (what its worker processes do), in one process.

    python bench/import_render_cpu.py CORPUS.jsonl [--threads 5000] [--rounds 3]

Renders every post of the first ``--threads`` threads with ``import_render.render_many`` (HTML
and indexed text, as a worker returns them), ``--rounds`` times after a warm-up, and prints each
round's process CPU and an md5 of the output: run from two checkouts' roots back to back to
compare their cost and check that they write the same bytes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from community.services.forum import import_render

    texts = []
    with args.corpus.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number >= args.threads:
                break
            record = json.loads(line)
            texts.append(record["body"])
            texts.extend(answer["body"] for answer in record.get("answers", []))
    import_render.render_many(texts[:500])
    rounds = []
    for _ in range(args.rounds):
        started = time.process_time()
        out = import_render.render_many(texts)
        rounds.append(time.process_time() - started)
    digest = hashlib.md5(repr(out).encode()).hexdigest()
    print(f"| {os.getcwd()} | {len(texts):,} posts | CPU {' / '.join(f'{r:.2f}' for r in rounds)} s "
          f"| output md5 {digest} | load {os.getloadavg()[0]:.1f} |")


if __name__ == "__main__":
    main()
