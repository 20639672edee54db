"""A benchmark community whose vocabulary behaves like real text as it grows.

``bench/synthetic.py`` resamples one small site, so at 100,000 threads nearly
every word is common.  Here each thread mixes three sources (see
``bench/data/README.md``):

- **real sentences and titles** from the Stack Exchange community in
  ``shared/data/se-cstheory-meta`` and the demo content (``bench/data/demo.jsonl``):
  the frequent words, grammar, Markdown and lengths of a real forum;
- **topic terms** drawn from a Zipf distribution over an unbounded list of
  generated words (rank r has probability ~ r^-1.2), so a few topics are
  everywhere, most are rare, and new words keep appearing as the site grows
  (Heaps' law) instead of the vocabulary saturating;
- **product, error and version terms** (``Acme Tarvo``, ``E4021``, ``3.12.4``),
  Zipf-distributed too, the identifiers customers paste into questions.

A thread's topic terms repeat in its title, question and answers (real topics
are bursty).  Everything is seeded: the same size and seed give the same file.

    python bench/corpus.py --threads 20000 --out /tmp/corpus-20k.jsonl
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

DATA = Path(__file__).resolve().parent / "data"
DUMP = Path(__file__).resolve().parents[2] / "shared" / "data" / "se-cstheory-meta"
if not DUMP.exists():
    DUMP = Path("/work/shared/data/se-cstheory-meta")

CATEGORIES = ["Billing & Accounts", "Sync & Storage", "Mobile App", "Integrations & API",
              "Getting Started", "Bug reports", "Feature requests", "Support", "Discussion"]
SYLLABLES = ("ka ri to ne mo sa lu vi de zo pa fe ghi bra kel mor tan vel quin dra sol nex tor"
             " lim pex rav ost ula cor fin gar hal jun orb pri sen tul wex yar zen").split()
#: Zipf exponents: topic words, products, error codes (bigger = more concentrated).
TOPIC_S, PRODUCT_S, ERROR_S = 1.2, 1.4, 1.15
MAX_RANK = 10_000_000
_TAG_RE = re.compile(r"<[^>]+>")
_SENTENCE_RE = re.compile(r"(?<=[.?!])\s+|\n\n")


def zipf_rank(rng: random.Random, s: float) -> int:
    """A rank >= 1 with P(rank > k) ~ k^(1-s): a discretized Pareto (unbounded Zipf)."""
    while True:
        rank = int((1.0 - rng.random()) ** (-1.0 / (s - 1.0)))
        if rank <= MAX_RANK:
            return rank


def pseudo_word(rank: int, salt: int) -> str:
    """A pronounceable word, distinct for each (rank, salt), scrambled so neighbours differ."""
    n = (rank * 2654435761 + salt * 40503) % 4_294_967_291
    parts = []
    for _ in range(2 + rank.bit_length() // 8):
        n, digit = divmod(n, len(SYLLABLES))
        parts.append(SYLLABLES[digit])
    return "".join(parts)


class Sources:
    """Real titles and sentences (cstheory meta + demo content) and reply-count statistics."""

    def __init__(self, dump: Path = DUMP, demo: Path = DATA / "demo.jsonl"):
        self.titles: list[str] = []
        self.sentences: list[str] = []
        self.tags: list[str] = []
        self.answer_counts: list[int] = []
        answers: dict[str, int] = {}
        for _event, row in ElementTree.iterparse(dump / "Posts.xml"):
            if row.tag != "row":
                continue
            text = _TAG_RE.sub(" ", row.get("Body", "")).replace("&quot;", '"').replace("&amp;", "and")
            self._add_sentences(text)
            if row.get("PostTypeId") == "1":
                self.titles.append(row.get("Title", ""))
                self.tags += re.findall(r"<([^>]+)>", row.get("Tags", "")) or \
                    [t for t in row.get("Tags", "").strip("|").split("|") if t]
                answers.setdefault(row.get("Id"), 0)
            elif row.get("PostTypeId") == "2":
                answers[row.get("ParentId")] = answers.get(row.get("ParentId"), 0) + 1
            row.clear()
        for line in demo.read_text(encoding="utf-8").splitlines():
            thread = json.loads(line)
            self.titles.append(thread["title"])
            self.tags += thread.get("tags", [])
            self._add_sentences(thread["body"])
            for answer in thread.get("answers", []):
                self._add_sentences(answer["body"])
        self.answer_counts = list(answers.values())

    def _add_sentences(self, text: str) -> None:
        for sentence in _SENTENCE_RE.split(text):
            sentence = " ".join(sentence.split())
            if 20 <= len(sentence) <= 400:
                self.sentences.append(sentence)


class Generator:
    def __init__(self, sources: Sources, seed: int = 1):
        self.src = sources
        self.rng = random.Random(seed)
        self.start = datetime(2016, 1, 1)

    def topic(self) -> str:
        return pseudo_word(zipf_rank(self.rng, TOPIC_S), 1)

    def product(self) -> str:
        return "Acme " + pseudo_word(zipf_rank(self.rng, PRODUCT_S), 2).capitalize()

    def error(self) -> str:
        rank = zipf_rank(self.rng, ERROR_S)
        return f"E{rank:04d}" if self.rng.random() < 0.6 else f"ERR_{pseudo_word(rank, 3).upper()}"

    def version(self) -> str:
        rng = self.rng
        return f"{min(zipf_rank(rng, 1.8), 20)}.{rng.randint(0, 15)}.{rng.randint(0, 9)}"

    def _text(self, sentences: int, terms: list[str]) -> str:
        rng, parts = self.rng, []
        for _ in range(sentences):
            parts.append(rng.choice(self.src.sentences))
            if rng.random() < 0.45:  # the thread's own terms recur through its text
                a, b = rng.sample(terms, 2) if len(terms) > 1 else (terms[0], terms[0])
                parts.append(rng.choice(PATTERNS).format(a=a, b=b))
        return " ".join(parts)

    def thread(self, n: int) -> dict:
        rng = self.rng
        topics = [self.topic() for _ in range(rng.randint(2, 4))]
        product, version = self.product(), self.version()
        error = self.error() if rng.random() < 0.35 else None
        terms = topics + [product, version] + ([error] if error else [])
        words = rng.choice(self.src.titles).split()[:12] or ["Question"]
        for topic in topics[:2]:
            words[rng.randrange(len(words))] = topic
        title = f"{product} {version}: " + " ".join(words) if rng.random() < 0.4 else " ".join(words)
        if error and rng.random() < 0.5:
            title += f" ({error})"
        asked = self.start + timedelta(minutes=n * 5 + rng.randint(0, 4))
        count = rng.choice(self.src.answer_counts)
        accepted = rng.randrange(count) if count and rng.random() < 0.55 else -1
        answers = [{"body": self._text(rng.randint(1, 5), terms), "author": self.author(n),
                    "created_at": (asked + timedelta(hours=rng.randint(1, 96))).isoformat() + "Z",
                    "accepted": i == accepted, "score": max(0, int(rng.expovariate(0.5)) - 1)}
                   for i in range(count)]
        return {"external_id": f"corpus:{n}", "title": title[:150], "author": self.author(n),
                "body": self._text(rng.randint(2, 6), terms), "category": rng.choice(CATEGORIES),
                "tags": sorted({rng.choice(self.src.tags)} | ({topics[0]} if rng.random() < 0.5 else set())),
                "created_at": asked.isoformat() + "Z", "score": max(0, int(rng.expovariate(0.4)) - 1),
                "views": int(rng.expovariate(1 / 80)), "answers": answers}

    def author(self, n: int) -> str:
        return f"member{zipf_rank(self.rng, 1.6) % max(100, n // 10)}"


PATTERNS = [
    "Since I updated {a} I keep seeing {b} on every device.",
    "Does {a} work together with {b}?",
    "I tried turning {a} off, but {b} still fails.",
    "Same here: {a} stopped working after the update, and {b} too.",
    "Check the {a} settings first; {b} depends on them.",
    "{a} is listed under Settings > Advanced next to {b}.",
    "With {a} enabled, {b} takes minutes instead of seconds.",
    "Reinstalling {a} fixed {b} for me.",
]


def write(path: Path, count: int, seed: int = 1, sources: Sources | None = None) -> Path:
    """Write ``count`` threads as import JSONL to ``path``."""
    generator = Generator(sources or Sources(), seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(count):
            handle.write(json.dumps(generator.thread(n)) + "\n")
    return path


def vocabulary_stats(path: Path, checkpoints: list[int]) -> list[dict]:
    """Distinct stems and the log-log slope of the rank/frequency curve at each checkpoint."""
    import math

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from community.search.analysis import WORD_RE, normalize

    counts: dict[str, int] = {}
    out, tokens = [], 0
    with open(path, encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            thread = json.loads(line)
            text = " ".join([thread["title"], thread["body"]] + [a["body"] for a in thread["answers"]])
            for match in WORD_RE.finditer(text):
                stem = normalize(match.group())
                if stem:
                    counts[stem] = counts.get(stem, 0) + 1
                    tokens += 1
            if n in checkpoints:
                freqs = sorted(counts.values(), reverse=True)
                # Slope between ranks 10 and 10,000 (or the last rank): -1 is Zipf's law.
                hi = min(10_000, len(freqs))
                slope = (math.log(freqs[hi - 1]) - math.log(freqs[9])) / (math.log(hi) - math.log(10))
                out.append({"threads": n, "tokens": tokens, "vocabulary": len(counts),
                            "hapax": sum(1 for f in freqs if f == 1), "zipf_slope": round(slope, 2)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stats", action="store_true", help="print vocabulary growth at 1k/10k/100k")
    args = parser.parse_args()
    write(args.out, args.threads, args.seed)
    if args.stats:
        marks = [m for m in (1_000, 10_000, 20_000, 100_000) if m <= args.threads]
        for row in vocabulary_stats(args.out, marks):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
