"""A second dev set, from another part of the cstheory meta data than bench/data/dev_queries.jsonl.

    python bench/make_dev2_queries.py [--count 120] [--seed 16]

``dev_queries.jsonl`` is hand-written, title-like customer queries.  This set is made
differently, so that a gain that appears on one set only shows up as tuning: for threads
that no dev query asks for, the query is what a visitor would type describing the problem
in their own first sentence, taken from the *question body* (quotes, links, code and
"possible duplicate" notes dropped; the first 6 to 14 words of the first sentence long
enough), never the title.  The relevant thread is that thread.  Written to
``bench/data/dev2_queries.jsonl``.  The text is CC BY-SA (bench/data/README.md).
"""
from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_NOISE = re.compile(r"https?://\S+|`[^`]*`|[*_#>\[\]]+")


def first_sentence(body: str) -> str:
    lines = [line for line in body.splitlines()
             if line.strip() and not line.lstrip().startswith((">", "    ", "```")) and "Possible Duplicate" not in line]
    text = _NOISE.sub(" ", _LINK.sub(r"\1", " ".join(lines)))
    for sentence in re.split(r"(?<=[.?!])\s+", " ".join(text.split())):
        words = sentence.split()
        if len(words) >= 6:
            return " ".join(words[:14]).rstrip(".,;:")
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    taken = {r for line in (DATA / "dev_queries.jsonl").read_text().splitlines() if line.strip()
             for r in json.loads(line)["relevant"]}
    candidates = []
    for line in (DATA / "cstheory_meta.jsonl").read_text().split("\n"):
        if not line.strip():
            continue
        thread = json.loads(line)
        if thread["external_id"] in taken:
            continue
        query = first_sentence(thread.get("body") or "")
        if query:
            candidates.append({"query": query, "relevant": [thread["external_id"]]})
    random.Random(args.seed).shuffle(candidates)
    chosen = sorted(candidates[:args.count], key=lambda q: int(q["relevant"][0].split(":")[1]))
    out = DATA / "dev2_queries.jsonl"
    out.write_text("".join(json.dumps(q) + "\n" for q in chosen))
    print(f"{len(chosen)} queries (of {len(candidates)} candidates) written to {out}")


if __name__ == "__main__":
    main()
