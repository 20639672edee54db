"""A seeded random sample of mutmut's mutants, the same number from each module, for a run that fits
in a session (all 3,500 mutants of the deflection package take many hours on a 2-core machine).

    .venv/bin/mutmut run "zzz"      # once: generates mutants/ and the test stats, then stops (no match)
    nice .venv/bin/mutmut run --max-children 2 $(.venv/bin/python bench/mutation_sample.py --batch 1)
    .venv/bin/python bench/mutation_sample.py --report      # per module: killed / survived / not run

Each module's mutant names are shuffled with a fixed seed; batch k is the k-th slice of
``--per-batch`` names of every module, so batches never overlap and a stopped run still has the
same number of mutants from each module.  ``--report`` reads mutmut's results (mutants/*.meta)
and gives, per module, the score over the mutants run and its 95 % Wilson interval: a sample
estimates the module's score, it does not measure it.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import random

from mutmut.stats import status_by_exit_code

MODULES = ["ask_sessions", "breakdowns", "confirming", "credit", "gaps", "guards", "metrics",
           "suggestions", "visitors", "outcomes", "holdout", "health"]
TARGETS = MODULES[:9]   # first in every batch: the modules no earlier run had reached


def names(module: str) -> list[str]:
    with open(f"mutants/community/services/deflection/{module}.py.meta") as f:
        keys = sorted(json.load(f)["exit_code_by_key"])
    random.Random(f"issue-19-{module}").shuffle(keys)
    return keys


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def report() -> None:
    print("| module | mutants | run | killed | survived | score | 95 % interval |")
    print("|---|---|---|---|---|---|---|")
    for module in MODULES:
        with open(f"mutants/community/services/deflection/{module}.py.meta") as f:
            codes = json.load(f)["exit_code_by_key"]
        status = {k: status_by_exit_code[c] for k, c in codes.items()}
        killed = sum(s in ("killed", "timeout") for s in status.values())   # a timeout counts as killed
        survived = [k for k, s in status.items() if s == "survived"]
        odd = [k for k, s in status.items() if s not in ("killed", "timeout", "survived", "not checked")]
        n = killed + len(survived)
        low, high = wilson(killed, n)
        score = f"{100 * killed / n:.1f} %" if n else "-"
        print(f"| `{module}.py` | {len(codes)} | {n} | {killed} | {len(survived)} | {score} |"
              f" {100 * low:.0f}–{100 * high:.0f} % |")
        for name in sorted(survived):
            print("    survived:", name)
        for name in sorted(odd):
            print("    neither killed nor survived:", name, status[name])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--per-batch", type=int, default=15)
    parser.add_argument("--modules", default=",".join(TARGETS),
                        help="comma-separated module names, or 'all' for the twelve (default: the nine "
                             "no run before the second had reached)")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        return report()
    start = (args.batch - 1) * args.per_batch
    for module in MODULES if args.modules == "all" else args.modules.split(","):
        print(*names(module)[start:start + args.per_batch])


if __name__ == "__main__":
    main()
