"""Markdown rendering time on pathological bodies, as a ratio to plain prose of the same length.

    nice -n 10 python bench/markdown_bench.py [--before] [--lengths 4000,16000,30000] [--budget 8]

``--before`` renders with Python-Markdown's own (unbounded) link and code-span processors, as
``community/markup.py`` did before ``BoundedInlineScans``.  A construct's larger lengths are
skipped once one render takes longer than ``--budget`` seconds (unbounded, they grow
quadratically).  Prints a table and writes ``bench/results/markdown-{before,after}.json``.
The unit tests (``tests/forum/test_markdown_linear.py``) check linear growth without a clock.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from community import markup  # noqa: E402

PROSE = "The quick brown fox jumps over the lazy dog, then asks how to export invoices. "
CORPUS = {
    "[a](": "[a](", "[a][": "[a][", "[": "[", "![": "![", "[a](b": "[a](b", "[a](b(c)": "[a](b(c)",
    "[a](<": "[a](<", "``a`": "``a`", "```a``": "```a``", "*a": "*a", "> ": "> ",
    "dense ordinary markup": "[a](b) `c` *d* ",
}


def body(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def timed(text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        markup.render_markdown(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", action="store_true", help="unbounded processors (as before)")
    parser.add_argument("--lengths", default="4000,16000,30000")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds; skip longer lengths past it")
    args = parser.parse_args()
    if args.before:
        markup._BOUNDED_PROCESSORS.clear()
    lengths = [int(n) for n in args.lengths.split(",")]
    markup.render_markdown(body(PROSE, 100))  # warm
    prose = {n: timed(body(PROSE, n)) for n in lengths}
    rows = []
    print(f"{'construct':24s}" + "".join(f"{n:>10,} ch   ×prose" for n in lengths))
    print(f"{'plain prose':24s}" + "".join(f"{prose[n]:>11.3f}s {1:>7.1f}" for n in lengths))
    for name, unit in CORPUS.items():
        row = {"construct": name, "seconds": {}, "ratio_to_prose": {}}
        cells = []
        for n in lengths:
            if cells and cells[-1] is None or (row["seconds"] and max(row["seconds"].values()) > args.budget):
                cells.append(None)
                continue
            seconds = timed(body(unit, n), repeat=1 if args.before else 3)
            row["seconds"][n], row["ratio_to_prose"][n] = round(seconds, 4), round(seconds / prose[n], 1)
            cells.append(seconds)
        rows.append(row)
        print(f"{name:24s}" + "".join(f"{c:>11.3f}s {c / prose[n]:>7.1f}" if c is not None else f"{'skipped':>20s}"
                                      for c, n in zip(cells, lengths)), flush=True)
    out = Path(__file__).resolve().parent / "results" / f"markdown-{'before' if args.before else 'after'}.json"
    out.write_text(json.dumps({"mode": "before" if args.before else "after", "python": platform.python_version(),
                               "max_inline_scan": markup.MAX_INLINE_SCAN, "lengths": lengths,
                               "prose_seconds": prose, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
