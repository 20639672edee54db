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

``--group new-credit`` samples instead the functions of the inferred-credit code (``GROUPS``:
``settle_inferred``, ``credit_inferred``, the after-request trigger ``init_app``, ...), one shuffle of
their names together (seed ``issue-19-credit-inferred``); ``--report --names FILE`` scores only the
names listed in FILE (the run's sample, as printed), with the same interval.
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
#: Functions sampled together: the inferred-credit code (credit.py) and the one failure rule.
GROUPS = {"new-credit": ["credit._lock_visitor", "credit._credit", "credit._withdraw", "credit._existing",
                         "credit.credit_confirmation", "credit._window", "credit._facts",
                         "credit._first_contact_after", "credit.credit_inferred", "credit.inferred_candidates",
                         "credit.settle_inferred", "credit.every_seconds", "credit.init_app",
                         "credit.fail_after_contact", "outcomes.fails", "holdout.later_contact"]}


def names(module: str) -> list[str]:
    with open(f"mutants/community/services/deflection/{module}.py.meta") as f:
        keys = sorted(json.load(f)["exit_code_by_key"])
    random.Random(f"issue-19-{module}").shuffle(keys)
    return keys


def _all_names(module: str) -> list[str]:
    with open(f"mutants/community/services/deflection/{module}.py.meta") as f:
        return sorted(json.load(f)["exit_code_by_key"])


def group_names(group: str) -> list[str]:
    """Every mutant of the group's functions (mutmut names them ``<module>.x_<function>__mutmut_<n>``),
    shuffled with the group's seed."""
    keys = []
    for qualified in GROUPS[group]:
        module, function = qualified.split(".")
        prefix = f"community.services.deflection.{module}.x_{function}__mutmut_"
        keys += [k for k in _all_names(module) if k.startswith(prefix)]
    keys.sort()
    random.Random("issue-19-credit-inferred" if group == "new-credit" else f"issue-19-{group}").shuffle(keys)
    return keys


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def report(only: set[str] | None = None) -> None:
    """Per module: mutants, run, killed, survived, score and its 95 % Wilson interval; with ``only``,
    over those names alone (then a last row for all of them)."""
    print("| module | mutants | run | killed | survived | score | 95 % interval |")
    print("|---|---|---|---|---|---|---|")
    totals = [0, 0, 0]
    for module in MODULES:
        with open(f"mutants/community/services/deflection/{module}.py.meta") as f:
            codes = json.load(f)["exit_code_by_key"]
        if only is not None:
            codes = {k: c for k, c in codes.items() if k in only}
            if not codes:
                continue
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
        totals = [totals[0] + len(codes), totals[1] + n, totals[2] + killed]
    if only is not None:
        mutants, n, killed = totals
        low, high = wilson(killed, n)
        score = f"{100 * killed / n:.1f} %" if n else "-"
        print(f"| **all listed** | {mutants} | {n} | {killed} | {n - killed} | {score} |"
              f" {100 * low:.0f}–{100 * high:.0f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--per-batch", type=int, default=15)
    parser.add_argument("--modules", default=",".join(TARGETS),
                        help="comma-separated module names, or 'all' for the twelve (default: the nine "
                             "no run before the second had reached)")
    parser.add_argument("--group", choices=sorted(GROUPS),
                        help="sample the group's functions together instead of every module")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--names", help="with --report: a file of the names to score (whitespace-separated)")
    args = parser.parse_args()
    if args.report:
        only = set(open(args.names).read().split()) if args.names else None
        return report(only)
    start = (args.batch - 1) * args.per_batch
    if args.group:
        return print(*group_names(args.group)[start:start + args.per_batch])
    for module in MODULES if args.modules == "all" else args.modules.split(","):
        print(*names(module)[start:start + args.per_batch])


if __name__ == "__main__":
    main()
