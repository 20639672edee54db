"""A third dev set: questions the site's own people said are answered by another thread.

    python bench/make_dev3_queries.py [PostLinks.xml]

Where plain BM25 is weaker: the query is what *another* asker typed for the same need, so it
shares fewer words with the answering thread than a sentence of that thread does (dev2).

- ``dup-title`` / ``dup-body``: each Stack Exchange duplicate link (``PostLinks.xml``,
  ``LinkTypeId`` 3) asks with the duplicate's title, and again with the first sentence of its
  body (the "Possible Duplicate" note and bare link lines dropped: they carry the original's
  title); the relevant thread is the original, a chain (a duplicate of a duplicate) followed to
  its end, as ``services/forum/duplicates.py`` resolves it.
- ``accepted-link``: each accepted answer that links to another question of the corpus asks with
  the asking question's title; the relevant threads are the linked ones (the asker accepted
  "answered over there").

Every asking thread is listed in the line's ``exclude``: ``bench/relevance.py`` leaves every
excluded thread out of the searched corpus (else the duplicate, holding the very words, is found
first). Because these are the same links ``--duplicates`` and ``--accepted-links`` replay as
learned evidence, ``bench/relevance.py`` refuses those options with this set (no leakage).
Written to ``bench/data/dev3_queries.jsonl``; the text is CC BY-SA (bench/data/README.md).
"""
from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.make_dev2_queries import first_sentence  # noqa: E402
from bench.synthetic import DEFAULT_DUMP  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
_QUESTION_URL = re.compile(r"stackexchange\.com/(?:questions|q)/(\d+)")
_BARE_LINK = re.compile(r"^\s*\[[^\]]*\]\([^)]*\)\s*$")


def duplicate_originals(path: Path, known: set[str]) -> dict[str, str]:
    """``{duplicate external id: final original external id}`` of the corpus's duplicate links."""
    links = {f"se:{row.get('PostId')}": f"se:{row.get('RelatedPostId')}" for row in ET.parse(path).getroot()
             if row.get("LinkTypeId") == "3"}
    out = {}
    for duplicate in links:
        original, seen = links[duplicate], {duplicate}
        while original in links and original not in seen:
            seen.add(original)
            original = links[original]
        if duplicate in known and original in known and original != duplicate:
            out[duplicate] = original
    return out


def body_query(body: str, original_title: str) -> str:
    """The duplicate's own first sentence, without the lines that name its original."""
    kept = "\n".join(line for line in body.splitlines() if not _BARE_LINK.match(line))
    query = first_sentence(kept)
    return "" if original_title.lower() in query.lower() else query


def main() -> None:
    threads = {t["external_id"]: t for t in (json.loads(line) for line in
                                            (DATA / "cstheory_meta.jsonl").read_text().split("\n") if line.strip())}
    postlinks = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DUMP / "PostLinks.xml"
    lines = []
    for duplicate, original in sorted(duplicate_originals(postlinks, set(threads)).items(),
                                      key=lambda pair: int(pair[0].split(":")[1])):
        asking = threads[duplicate]
        lines.append({"query": asking["title"], "relevant": [original], "exclude": [duplicate], "part": "dup-title"})
        sentence = body_query(asking.get("body") or "", threads[original]["title"])
        if sentence:
            lines.append({"query": sentence, "relevant": [original], "exclude": [duplicate], "part": "dup-body"})
    for external, thread in sorted(threads.items(), key=lambda pair: int(pair[0].split(":")[1])):
        linked = []
        for answer in thread.get("answers") or []:
            if answer.get("accepted"):
                for number in _QUESTION_URL.findall(answer.get("body") or ""):
                    target = f"se:{number}"
                    if target in threads and target != external and target not in linked:
                        linked.append(target)
        if linked:
            lines.append({"query": thread["title"], "relevant": linked[:3], "exclude": [external],
                          "part": "accepted-link"})
    asking = {e for line in lines for e in line["exclude"]}
    kept = [line for line in lines if not set(line["relevant"]) & asking]  # an answer must stay searchable
    excluded = {e for line in kept for e in line["exclude"]}
    out = DATA / "dev3_queries.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in kept))
    parts = {p: sum(1 for line in kept if line["part"] == p) for p in ("dup-title", "dup-body", "accepted-link")}
    print(f"{len(kept)} queries written to {out} ({parts}; {len(lines) - len(kept)} dropped: their answer is "
          f"another query's asking thread); {len(excluded)} threads excluded from the corpus")


if __name__ == "__main__":
    main()
