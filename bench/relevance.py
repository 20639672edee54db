"""Relevance of ``suggest`` against a plain BM25 baseline, on the same corpus in the same run.

    python bench/relevance.py bench/data/cstheory_meta.jsonl bench/data/demo.jsonl \
        --queries bench/data/dev_queries.jsonl [--misses] [--learn 0.5 [--learned-boost 0.5,1,2]]

The corpus files (import JSONL) are imported with ``flask import``'s code into
a fresh instance in a temporary directory.  Queries are JSONL lines
``{"query": "...", "relevant": ["external_id", ...]}``.  Reported: recall@5,
recall@10 and MRR@10 of ``community.search.suggest`` (threads), and of the
baseline: Whoosh defaults (StandardAnalyzer, BM25F, MultifieldParser over
title + question body, terms OR-ed, no boosts, no stemming, no tuning).

Every figure is also given per *part* of the dev set (queries about the demo community,
``demo:*``, and about cstheory meta, ``se:*``): a change is kept only if it helps the
whole set without hurting a part by more than a point.

``--learn SHARE`` measures learning honestly: a stable SHARE of the queries (by a hash
of their text) is replayed as confirmed deflections (one distinct visitor each, the
query's words voting for its relevant threads, through ``services.learning.evidence``),
and every system is measured on the *other* queries only, before and after the replay;
``--learned-boost`` lists the weights of the ``learned`` field to compare.  ``--replay opened``
or ``--replay related`` replays them as suggestions opened with no contact, or as clicks on a
related question (:func:`replay`), and ``--copies`` compares the fresh copies of that source.

A query line may name its ``part`` and the threads to ``exclude`` from the searched corpus
(``bench/data/dev3_queries.jsonl``: the duplicate asking for its original is left out, else it
is found first); with such a set ``--duplicates`` and ``--accepted-links`` are refused: they
replay the very links the set is made of.

``--variant NAME=MODULE.NAME=VALUE[;MODULE.NAME=VALUE...]`` (repeatable) measures ``suggest``
again with query-time knobs changed, on the same import, each variant undone before the next;
every query whose first relevant rank moved is listed (printed and in the JSON's ``changes``),
so a variant is judged by the queries it wins and loses, not only by the means.  Knobs read
while indexing (the PostgreSQL vector's weights) need ``--set`` and a run of their own.

``--duplicates PostLinks.xml`` replays the Stack Exchange duplicate links (``LinkTypeId`` 3)
as closed duplicates (the duplicate's title votes for the original) before measuring; no
dev query is used for that, so every query is measured.  ``--accepted-links`` does the same
with the corpus's accepted answers that link to another question of it (the question's title
votes for the linked one, ``services.learning.judgments``); both may be given together.
``--post-links`` replays every link of a question or of any answer to another question of the
corpus the same way (the linking title votes for the linked thread, voter ``linked:<thread>``,
source ``accepted``: the product learns only accepted answers' links; this measures whether all
links would help, docs/search.md "Twelfth round").  It is allowed with a set that excludes threads:
the excluded asking threads are not in the corpus, so none of their links is replayed.

``--touch SHARE`` re-indexes a stable share of the threads (1: every one) once after the import,
nothing changed, as a live site's replies and edits do: Whoosh keeps each old copy, deleted, in its
segment until a merge, and the ranking must not depend on that history (docs/search.md,
"Thirteenth round").

The table is printed and the same figures are written as JSON (``--json``; by default
``bench/results/relevance-<queries file>-<backend>.json``): every system's R@5, R@10 and
MRR@10 overall and per part, the knobs in force, the machine's load and the command.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402
from whoosh import index as whoosh_index  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import MultifieldParser, OrGroup  # noqa: E402

from bench.knobs import applied, apply_setting, moved_queries, parse_variant  # noqa: E402
from community import create_app, search  # noqa: E402
from community.models import utcnow  # noqa: E402
from community.search import learned, schema  # noqa: E402
from community.search.documents import thread_key  # noqa: E402
from community.services.learning import evidence, judgments  # noqa: E402
from community.extensions import db  # noqa: E402
from community.models import Thread  # noqa: E402
from community.services.forum import import_formats, importer  # noqa: E402


def metrics(ranked: list[str], relevant: set[str]) -> tuple[float, float, float]:
    def recall(k):
        return len(set(ranked[:k]) & relevant) / len(relevant)

    rank = next((i for i, key in enumerate(ranked[:10], start=1) if key in relevant), None)
    return recall(5), recall(10), (1.0 / rank if rank else 0.0)


class Baseline:
    """Plain BM25: Whoosh's defaults over title + body."""

    def __init__(self, directory: Path, records: list):
        schema = Schema(key=ID(stored=True, unique=True), title=TEXT(), body=TEXT())
        directory.mkdir()
        self.ix = whoosh_index.create_in(directory, schema)
        writer = self.ix.writer()
        for record in records:
            writer.add_document(key=record.external_id, title=record.title, body=record.body)
        writer.commit()
        self.parser = MultifieldParser(["title", "body"], schema, group=OrGroup)
        self.searcher = self.ix.searcher()

    def rank(self, text: str) -> list[str]:
        try:
            q = self.parser.parse(text)
            return [hit["key"] for hit in self.searcher.search(q, limit=10)]
        except Exception:  # the default parser can fail on odd syntax; count it as no results
            return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="+", type=Path, help="import-format JSONL file(s)")
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--misses", action="store_true", help="list queries whose first relevant hit is not in the top 5")
    parser.add_argument("--learn", type=float, default=0.0, metavar="SHARE",
                        help="replay this share of the queries as confirmed deflections; measure on the rest")
    parser.add_argument("--replay", choices=("confirmed", "opened", "related"), default="confirmed",
                        help="with --learn: what the replayed visitors do (see replay())")
    parser.add_argument("--copies", type=lambda v: [int(x) for x in v.split(",")], default=None,
                        help="with --learn: fresh copies of the replayed source to compare (learned.SOURCE_COPIES)")
    parser.add_argument("--duplicates", type=Path, metavar="POSTLINKS_XML",
                        help="replay Stack Exchange duplicate links as closed duplicates first")
    parser.add_argument("--accepted-links", action="store_true",
                        help="replay accepted answers linking to another question as judgments first")
    parser.add_argument("--post-links", action="store_true",
                        help="replay every post's link to another question of the corpus as a judgment first")
    parser.add_argument("--learned-boost", type=lambda v: [float(x) for x in v.split(",")],
                        default=[schema.FIELD_BOOSTS["learned"]], help="weights of the learned field to compare")
    parser.add_argument("--touch", type=float, default=0.0, metavar="SHARE",
                        help="re-index a stable SHARE of the threads (1: all) once after the import, nothing "
                             "changed: a live site's index history (Whoosh keeps deleted copies until a merge)")
    parser.add_argument("--backend", choices=("whoosh", "postgres"), default="whoosh")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/search_relevance",
                        help="an empty database the benchmark may fill and drop (postgres backend)")
    parser.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE",
                        help="try a ranking knob of community.search (ranker.B=0.9, schema.FIELD_BOOSTS.title=2)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=MODULE.NAME=VALUE[;...]",
                        help="also measure suggest with these query-time knobs, on the same import")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="where to write the figures (default bench/results/relevance-<queries>-<backend>.json)")
    args = parser.parse_args()
    variants = [parse_variant(spec) for spec in args.variant]
    if variants and (args.learn or args.duplicates or args.accepted_links):
        raise SystemExit("--variant compares query-time knobs on one plain run: not with --learn, "
                         "--duplicates or --accepted-links")
    for setting in args.set:
        apply_setting(setting)
    load_before = os.getloadavg()

    root = Path(tempfile.mkdtemp(prefix="relevance-"))
    uri = args.pg_url if args.backend == "postgres" else f"sqlite:///{root / 'bench.db'}"
    if args.backend == "postgres":
        import psycopg

        base, _, name = args.pg_url.replace("postgresql+psycopg", "postgresql").rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    app = create_app({"INSTANCE_PATH": str(root), "SQLALCHEMY_DATABASE_URI": uri, "SEARCH_BACKEND": args.backend,
                      "SEARCH_INDEX_DIR": str(root / "index"), "SECRET_KEY": "bench", "TESTING": True})
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    excluded = {external for q in queries for external in q.get("exclude", ())}
    if excluded and (args.duplicates or args.accepted_links):
        raise SystemExit("this query set is made of the links --duplicates / --accepted-links replay: "
                         "learning from them and measuring on them at once would leak the answers")
    with app.app_context():
        db.create_all()
        search.create_schema()
        records = []
        for path in args.corpus:
            for line, record in import_formats.read_jsonl(path):
                if isinstance(record, str):
                    print(f"{path}: line {line}: {record}", file=sys.stderr)
                elif record.external_id not in excluded:  # the asking threads of dev3 (see its make script)
                    records.append(record)
        started = time.perf_counter()
        report = importer.import_records(((0, r) for r in records), commit=db.session.commit)
        print(f"corpus: {report.created} threads ({report.answers} answers) imported and indexed in "
              f"{time.perf_counter() - started:.1f}s ({len(excluded)} left out); {len(queries)} queries")
        ids = dict(db.session.execute(select(Thread.id, Thread.external_id)).all())
        if args.touch:
            touched = [t for t in sorted(ids) if _share(ids[t]) < args.touch]
            search.touch(*(thread_key(t) for t in touched))
            print(f"touched: {len(touched)} of {len(ids)} threads re-indexed, nothing changed")
        baseline = Baseline(root / "baseline", records)

        def part(item):
            if "part" in item:
                return item["part"]
            return "demo" if all(r.startswith("demo:") for r in item["relevant"]) else "cstheory"

        def measure(name, items, rows, latencies=None, misses=None):
            for item in items:
                relevant = set(item["relevant"])
                started = time.perf_counter()
                hits = search.suggest(item["query"], limit=10, types=("thread",))
                if latencies is not None:
                    latencies.append((time.perf_counter() - started) * 1000)
                ranked = [ids[h["id"]] for h in hits]
                first_ranks.setdefault(name, []).append(
                    next((i for i, key in enumerate(ranked, start=1) if key in relevant), None))
                rows.setdefault(name, {}).setdefault(part(item), []).append(metrics(ranked, relevant))
                if misses is not None and rows[name][part(item)][-1][0] == 0:
                    misses.append((item["query"], item["relevant"], ranked[:3]))

        def baseline_rows(items, rows):
            for item in items:
                rows.setdefault("BM25 baseline", {}).setdefault(part(item), []).append(
                    metrics(baseline.rank(item["query"]), set(item["relevant"])))

        rows: dict[str, dict[str, list]] = {}
        first_ranks: dict[str, list] = {}  # system -> each query's first relevant rank (None: not in 10)
        latencies, misses = [], []
        if args.duplicates or args.accepted_links or args.post_links:
            measure("suggest (tuned)", queries if not args.learn else [], rows)
            by_external = {external: thread_id for thread_id, external in ids.items()}
            titles = {r.external_id: r.title for r in records}
            now = utcnow()
            if args.duplicates:
                pairs = _duplicate_links(args.duplicates)
                replayed = 0
                for duplicate, original in pairs:
                    if f"se:{duplicate}" in by_external and f"se:{original}" in by_external:
                        evidence.vote(by_external[f"se:{original}"], f"duplicate:{duplicate}", "duplicate",
                                      titles[f"se:{duplicate}"], now)
                        replayed += 1
                print(f"duplicates: {replayed} of {len(pairs)} duplicate links replayed as closed duplicates")
            if args.accepted_links:
                replayed = 0
                for asking, linked in _accepted_links(records, set(by_external)):
                    evidence.vote(by_external[linked], judgments.accepted_voter(by_external[asking]), "accepted",
                                  titles[asking], now)
                    replayed += 1
                print(f"accepted answers: {replayed} links to another question replayed as judgments")
            if args.post_links:
                replayed = 0
                for asking, linked in _post_links(records, set(by_external)):
                    evidence.vote(by_external[linked], f"linked:{by_external[asking]}", "accepted",
                                  titles[asking], now)
                    replayed += 1
                print(f"post links: {replayed} links to another question replayed as judgments")
            db.session.commit()
            label = " + ".join(name for name, on in (("duplicates", args.duplicates),
                                                      ("accepted links", args.accepted_links),
                                                      ("post links", args.post_links)) if on)
            if not args.learn:
                state = app.extensions["search"]
                for weight in args.learned_boost:
                    schema.FIELD_BOOSTS["learned"] = weight
                    getattr(state, "_suggest_cache", {}).clear()  # Whoosh only (PostgreSQL: weight D)
                    measure(f"+ {label} x{weight:g}", queries, rows, latencies)
                baseline_rows(queries, rows)
        if args.learn:
            train = [q for q in queries if _share(q["query"]) < args.learn]
            test = [q for q in queries if _share(q["query"]) >= args.learn]
            print(f"learning: {len(train)} queries replayed ({args.replay}); measured on the other {len(test)}")
            taught = {external for q in train for external in q["relevant"]}
            reached = [q for q in test if taught & set(q["relevant"])]
            print(f"{len(reached)} of the {len(test)} measured queries ask for a thread that learned")
            measure("suggest (tuned)", test, rows)
            by_external = {external: thread_id for thread_id, external in ids.items()}
            taught_threads = replay(args.replay, train, by_external, ids)
            db.session.commit()  # the listeners re-index the threads that learned
            state = app.extensions["search"]
            for fresh in args.copies or [None]:
                if fresh is not None:  # the copies of a fresh vote of this source, re-indexed
                    learned.SOURCE_COPIES[args.replay] = fresh
                    search.touch(*(f"thread:{t}" for t in sorted(taught_threads)))
                for weight in args.learned_boost:
                    schema.FIELD_BOOSTS["learned"] = weight
                    getattr(state, "_suggest_cache", {}).clear()  # Whoosh only (PostgreSQL: weight D)
                    label = f"+ {args.replay} x{weight:g}" + (f" copies {fresh}" if fresh is not None else "")
                    measure(label, test, rows, latencies)
            baseline_rows(test, rows)
        elif not (args.duplicates or args.accepted_links or args.post_links):
            measure("suggest (tuned)", queries, rows, latencies, misses if args.misses else None)
            for name, settings in variants:
                with applied(settings, app):
                    measure(f"variant {name}", queries, rows)
            baseline_rows(queries, rows)
    changes = {name: moved_queries(queries, first_ranks["suggest (tuned)"], first_ranks[f"variant {name}"])
               for name, _settings in variants}

    print()
    print(f"backend: {args.backend}")
    summary = summarize(rows)
    parts = sorted({p for system in summary.values() for p in system["parts"]})
    width = max([20, *(len(name) for name in summary)])
    header = f"{'system':<{width}} {'recall@5':>9} {'recall@10':>10} {'MRR@10':>8}"
    print(header + "".join(f"  {p + ' R@5/R@10/MRR':>24}" for p in parts))
    for name, system in summary.items():
        line = f"{name:<{width}} {system['recall@5']:>9.3f} {system['recall@10']:>10.3f} {system['mrr@10']:>8.3f}"
        for p in parts:
            f = system["parts"][p]
            cell = f"{f['recall@5']:.3f}/{f['recall@10']:.3f}/{f['mrr@10']:.3f} (n={f['queries']})"
            line += f"  {cell:>24}"
        print(line)
    latencies.sort()
    latency = {"queries": len(latencies), "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
               "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1) if latencies else None}
    print(f"\nsuggest latency over {latency['queries']} queries: p50 {latency['p50_ms']} ms, "
          f"p95 {latency['p95_ms']} ms")
    for query, relevant, got in misses:
        print(f"MISS {query!r}: want {relevant}, got {got}")
    for name, moved in changes.items():
        won = sum(1 for c in moved if c["won"])
        print(f"\nvariant {name}: the first relevant thread moved in {len(moved)} of {len(queries)} queries, "
              f"up in {won}, down in {len(moved) - won}")
        for c in moved:
            print(f"  {'+' if c['won'] else '-'} {c['before']} -> {c['after']}  {c['query']!r}")
    out = args.json or RESULTS / f"relevance-{args.queries.stem}-{args.backend}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "command": " ".join(["python", *sys.argv]), "backend": args.backend,
        "corpus": [str(p) for p in args.corpus], "queries_file": str(args.queries), "queries": len(queries),
        "excluded_threads": sorted(excluded),
        "learn_share": args.learn, "touched_share": args.touch, "replay": args.replay if args.learn else None, "duplicates": str(args.duplicates) if args.duplicates else None,
        "accepted_links": args.accepted_links,
        "settings": args.set, "variants": {name: settings for name, settings in variants}, "changes": changes,
        "knobs": knobs(), "load_average": {"before": [round(x, 2) for x in load_before],
                                           "after": [round(x, 2) for x in os.getloadavg()]},
        "systems": summary, "suggest_latency": latency,
        "misses": [{"query": q, "relevant": r, "top3": g} for q, r, g in misses],
    }, indent=2) + "\n")
    print(f"figures written to {out}")


RESULTS = Path(__file__).resolve().parent / "results"


def summarize(rows: dict[str, dict[str, list]]) -> dict[str, dict]:
    """``{system: {recall@5, recall@10, mrr@10, queries, parts: {part: {...}}}}`` (means over queries)."""
    def figures(values: list) -> dict:
        r5, r10, mrr = (statistics.mean(column) for column in zip(*values))
        return {"recall@5": round(r5, 4), "recall@10": round(r10, 4), "mrr@10": round(mrr, 4),
                "queries": len(values)}

    return {name: {**figures([v for values in by_part.values() for v in values]),
                   "parts": {p: figures(values) for p, values in sorted(by_part.items())}}
            for name, by_part in rows.items()}


def knobs() -> dict:
    """The ranking settings the figures were measured with (so a JSON file says what it measured)."""
    from community.search import postgres_query, presenting, query, ranker

    return {"field_boosts": dict(schema.FIELD_BOOSTS), "phrase_boosts": dict(schema.PHRASE_BOOSTS),
            "bm25": {"K1": ranker.K1, "B": ranker.B}, "coverage_power": ranker.COVERAGE_POWER,
            "max_query_terms": query.MAX_QUERY_TERMS, "min_relative_score": presenting.MIN_RELATIVE_SCORE,
            "always_shown": presenting.ALWAYS_SHOWN, "pg_rank_weights": postgres_query.RANK_WEIGHTS}


def replay(kind: str, train: list[dict], by_external: dict[str, int], ids: dict[int, str]) -> set[int]:
    """Replay the ``train`` queries as visitors (one each) and return the threads that learned.

    - ``confirmed``: the visitor confirms each relevant thread ("This solved my problem").
    - ``opened``: the visitor opens the first relevant thread among today's 5 suggestions and
      contacts nobody (an inferred deflection); with none there, they contact support and
      teach nothing.
    - ``related``: the visitor opens the first suggestion; when it is not relevant and one of
      its 5 "Related questions" is, they click that one (a ``RelatedClick``, cookie kept, an
      address each), learned by ``services.learning.clicks.rebuild`` as ``flask search learn`` does.
    """
    from community.models import RelatedClick
    from community.services.forum import related
    from community.services.learning import clicks

    now = utcnow()
    taught: set[int] = set()
    for number, item in enumerate(train):
        relevant = {by_external[e] for e in item["relevant"]}
        if kind == "confirmed":
            for thread_id in sorted(relevant):
                evidence.vote(thread_id, f"bench:{number}", "confirmed", item["query"], now)
                taught.add(thread_id)
            continue
        shown = [h["id"] for h in search.suggest(item["query"], limit=5, types=("thread",))]
        if kind == "opened":
            opened = next((t for t in shown if t in relevant), None)
            if opened is not None and evidence.vote(opened, f"bench:{number}", "opened", item["query"], now):
                taught.add(opened)
            continue
        if not shown or shown[0] in relevant:
            continue
        reading = db.session.get(Thread, shown[0])
        clicked = next((r["id"] for r in related.related_threads(reading) if r["id"] in relevant), None)
        if clicked is not None:
            db.session.add(RelatedClick(thread_id=reading.id, target_id=clicked, visitor_id=f"bench{number:028d}",
                                        created_at=now, address_key=f"bench-address-{number}", cookie_kept=True))
    if kind == "related":
        db.session.flush()
        taught = clicks.rebuild(now=now).threads
    print(f"replayed as {kind}: {len(taught)} threads learned")
    return taught


def _duplicate_links(path: Path) -> list[tuple[str, str]]:
    """``(duplicate post id, original post id)`` of a Stack Exchange ``PostLinks.xml``."""
    import xml.etree.ElementTree as ET

    return [(row.get("PostId"), row.get("RelatedPostId")) for row in ET.parse(path).getroot()
            if row.get("LinkTypeId") == "3"]


def _accepted_links(records, known: set[str]) -> list[tuple[str, str]]:
    """``(asking external id, linked external id)`` for each accepted answer of the corpus that
    links to another question of it (Stack Exchange URLs, at most ``judgments.MAX_LINKS`` each)."""
    return _question_links(records, known, accepted_only=True)


def _post_links(records, known: set[str]) -> list[tuple[str, str]]:
    """``(linking external id, linked external id)`` for every link from a thread's question or
    any of its answers to another question of the corpus (each pair once, every link kept)."""
    return _question_links(records, known, accepted_only=False)


def _question_links(records, known: set[str], *, accepted_only: bool) -> list[tuple[str, str]]:
    import re

    pattern = re.compile(r"stackexchange\.com/(?:questions|q)/(\d+)")
    out = []
    for record in records:
        if accepted_only:
            bodies = [a.body_html or a.body or "" for a in record.answers if a.accepted]
        else:
            bodies = [record.body_html or record.body or ""] + [a.body_html or a.body or "" for a in record.answers]
        found = []  # per accepted answer: a list of links is capped, not the thread's links
        for body in bodies:
            linked = []
            for number in pattern.findall(body):
                external = f"se:{number}"
                if external in known and external != record.external_id and external not in linked:
                    linked.append(external)
            found += [e for e in (linked[:judgments.MAX_LINKS] if accepted_only else linked) if e not in found]
        out += [(record.external_id, external) for external in found]
    return out


def _share(text: str) -> float:
    """A stable position in [0, 1) for a query (which side of the split it lands on)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2 ** 64


if __name__ == "__main__":
    main()
