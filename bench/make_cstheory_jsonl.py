"""Convert the Stack Exchange dump in shared/data/se-cstheory-meta to the import JSONL format.

    python bench/make_cstheory_jsonl.py [DUMP_DIR] [OUT.jsonl]

Also writes ``bench/data/demo.jsonl`` from the demo content.  The text is
CC BY-SA (see bench/data/README.md).
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic import DEFAULT_DUMP  # noqa: E402
from community.demo.content import THREADS  # noqa: E402
from community.services.forum.import_formats import ThreadIn, read_stackexchange  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"


def record(thread: ThreadIn) -> dict:
    def iso(value):
        return value.isoformat() + "Z" if value else None

    return {
        "external_id": thread.external_id, "title": thread.title, "body": thread.body,
        "author": thread.author, "category": thread.category, "tags": thread.tags,
        "created_at": iso(thread.created_at), "score": thread.score, "views": thread.views,
        "answers": [{"body": a.body, "author": a.author, "created_at": iso(a.created_at),
                     "accepted": a.accepted, "score": a.score} for a in thread.answers],
    }


def main() -> None:
    dump = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DUMP
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else DATA / "cstheory_meta.jsonl"
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for line, item in read_stackexchange(dump, sanitize=lambda html: html):
            if isinstance(item, str):
                print(f"row {line}: {item}", file=sys.stderr)
                continue
            handle.write(json.dumps(record(item), ensure_ascii=False) + "\n")
            count += 1
    print(f"{count} threads -> {out}")
    start = datetime(2024, 1, 1)
    with open(DATA / "demo.jsonl", "w", encoding="utf-8") as handle:
        for n, item in enumerate(THREADS, start=1):
            asked = start + timedelta(days=n)
            handle.write(json.dumps({
                "external_id": f"demo:{n}", "title": item["title"], "body": item["body"],
                "author": item.get("author") or f"customer{n}", "category": item["category"],
                "tags": item.get("tags", []), "created_at": asked.isoformat() + "Z",
                "answers": [{"body": a["body"], "author": a.get("author") or f"helper{i}",
                             "created_at": (asked + timedelta(hours=i + 1)).isoformat() + "Z",
                             "accepted": bool(a.get("accepted"))} for i, a in enumerate(item.get("answers", []))],
            }, ensure_ascii=False) + "\n")
    print(f"{len(THREADS)} demo threads -> {DATA / 'demo.jsonl'}")


if __name__ == "__main__":
    main()
