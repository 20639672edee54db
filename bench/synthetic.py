"""Synthetic threads modelled on the real community in ``shared/data/se-cstheory-meta``.

Sentences, titles, tags, answer counts, accept rate and text lengths are
drawn from the real posts, so the text has the vocabulary, Markdown (links,
code, emphasis) and length of a real support forum, at any size.
"""
from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

from community.services.forum.import_formats import html_to_markdown

DEFAULT_DUMP = Path(__file__).resolve().parents[2] / "shared" / "data" / "se-cstheory-meta"
if not DEFAULT_DUMP.exists():
    DEFAULT_DUMP = Path("/work/shared/data/se-cstheory-meta")

CATEGORIES = ["Billing & Accounts", "Sync & Storage", "Mobile App", "Integrations & API",
              "Getting Started", "Bug reports", "Feature requests", "Support", "Discussion"]


class Model:
    def __init__(self, dump: Path = DEFAULT_DUMP):
        self.titles, self.sentences, self.tags = [], [], []
        self.question_sentences, self.answer_sentences, self.answer_counts = [], [], []
        answers_per_question: dict[str, int] = {}
        accepted = questions = 0
        for _event, row in ElementTree.iterparse(dump / "Posts.xml"):
            if row.tag != "row":
                continue
            body = html_to_markdown(row.get("Body", ""))
            sentences = [s.strip() for s in re.split(r"(?<=[.?!])\s+|\n\n", body) if len(s.strip()) > 3]
            if row.get("PostTypeId") == "1":
                questions += 1
                accepted += bool(row.get("AcceptedAnswerId"))
                self.titles.append(row.get("Title", ""))
                self.tags.extend(re.findall(r"<([^>]+)>", row.get("Tags", "")) or row.get("Tags", "").strip("|").split("|"))
                self.question_sentences.append(len(sentences) or 1)
                answers_per_question.setdefault(row.get("Id"), 0)
            elif row.get("PostTypeId") == "2":
                self.answer_sentences.append(len(sentences) or 1)
                answers_per_question[row.get("ParentId")] = answers_per_question.get(row.get("ParentId"), 0) + 1
            self.sentences.extend(sentences)
            row.clear()
        self.answer_counts = list(answers_per_question.values())
        self.accept_rate = accepted / max(questions, 1)
        self.words = sorted({w for t in self.titles for w in t.split() if w.isalpha()})

    def thread(self, rng: random.Random, n: int, start: datetime) -> dict:
        title_words = rng.choice(self.titles).split()
        for _ in range(2):  # vary titles so that no two threads are identical
            title_words[rng.randrange(len(title_words))] = rng.choice(self.words)
        asked = start + timedelta(minutes=n * 7 + rng.randint(0, 6))
        answers = []
        count = rng.choice(self.answer_counts)
        accept = rng.random() < self.accept_rate and count > 0
        accepted_index = rng.randrange(count) if accept else -1
        for i in range(count):
            answers.append({
                "body": self._body(rng, rng.choice(self.answer_sentences)),
                "author": f"member{rng.randint(1, max(50, n // 20))}",
                "created_at": (asked + timedelta(hours=rng.randint(1, 72))).isoformat() + "Z",
                "accepted": i == accepted_index,
            })
        return {
            "external_id": f"synthetic:{n}", "title": " ".join(title_words)[:150],
            "body": self._body(rng, rng.choice(self.question_sentences)),
            "author": f"member{rng.randint(1, max(50, n // 20))}", "category": rng.choice(CATEGORIES),
            "tags": rng.sample(self.tags, k=min(len(self.tags), rng.randint(1, 3))),
            "created_at": asked.isoformat() + "Z", "answers": answers,
        }

    def _body(self, rng: random.Random, sentences: int) -> str:
        parts = [rng.choice(self.sentences) for _ in range(max(1, sentences))]
        return " ".join(parts)


def write(path: Path, count: int, seed: int = 1) -> None:
    model, rng = Model(), random.Random(seed)
    start = datetime(2015, 1, 1)
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(count):
            handle.write(json.dumps(model.thread(rng, n, start)) + "\n")
