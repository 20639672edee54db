"""The opening pre-filter of snippets and term proximity (``analysis.may_be_one_of``) skips
stemming only for words that cannot be a query stem: every word of the benchmark communities,
Porter2's exceptional forms and non-ASCII words still find their stem, and snippets and
proximity positions are the ones the plain analysis gives."""
from __future__ import annotations

import json
from pathlib import Path

from whoosh.lang.porter2 import exceptional_forms

from community.search import proximity, snippets
from community.search.analysis import WORD_RE, may_be_one_of, normalize, openings

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"


def _words() -> set[str]:
    words = set(exceptional_forms) | {w.upper() for w in exceptional_forms} | {w.title() for w in exceptional_forms}
    words |= {"İstanbul", "été", "Ærø", "naïve", "ß", "straße", "y2k", "Yes", "E0412", "ERR_TIMEOUT", "3.12.4", "don't"}
    for name in ("cstheory_meta.jsonl", "demo.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            words.update(WORD_RE.findall(line))
    return words


def test_no_word_is_filtered_out_of_its_own_stem():
    missed = [w for w in _words() if normalize(w) and not may_be_one_of(w, openings([normalize(w)]))]
    assert missed == []


def test_the_filter_leaves_out_words_of_other_openings():
    opening = openings(["printer", "die"])
    assert not may_be_one_of("scanner", opening)
    assert not may_be_one_of("Paper", opening)
    assert may_be_one_of("Printing", opening) and may_be_one_of("dying", opening)
    assert may_be_one_of("été", openings(["ete"]))
    assert openings(["a"]) is None and may_be_one_of("anything", None)


def _plain_positions(title, question, stems):
    wanted = set(stems)
    text = f"{title or ''} . {(question or '')[:proximity.QUESTION_CHARS]}"
    return [(i, normalize(w)) for i, w in enumerate(WORD_RE.findall(text)) if normalize(w) in wanted]


def test_proximity_positions_and_snippet_spans_are_those_of_the_plain_analysis():
    lines = (DATA / "cstheory_meta.jsonl").read_text(encoding="utf-8").splitlines()[:60]
    for line in lines:
        record = json.loads(line)
        body = record.get("body", "")
        stems = [s for s in dict.fromkeys(normalize(w) for w in WORD_RE.findall(record["title"])) if s][:4]
        stems.append("die")
        assert proximity.text_positions(record["title"], body, stems) == _plain_positions(record["title"], body, stems)
        plain = [m.span() for m in WORD_RE.finditer(body) if normalize(m.group()) in set(stems)]
        assert snippets.matches(body, stems) == plain
