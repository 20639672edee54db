"""Stored document fields to what callers get (a suggestion dict, a search-page ``Hit``), for every backend."""
from __future__ import annotations

from ..extensions import db
from . import documents, snippets
from .results import Hit

#: A suggestion scoring under this share of the best one is not shown: a match on one common
#: word ("twice", "month") beside a thread that holds the whole question is noise, not help.
#: Measured (bench/relevance.py, docs/search.md): relevant threads of the dev set score down to
#: 0.15 of the best (0.2 lost two, -0.7 point of recall@5), so the floor stays under that.
MIN_RELATIVE_SCORE = 0.1
#: ... from the 4th on: the first three are always shown (on a site of a few threads, with
#: deleted documents in the statistics, a relevant second answer scored under 0.1).
ALWAYS_SHOWN = 3
#: ... and one sharing neither a category nor a tag with the first :data:`ALWAYS_SHOWN` needs
#: this share: a weak match in another topic is a word shared by chance ("I was charged twice
#: this month" listed "List endpoint returns the same page twice" at 0.25 of the best, beside
#: three billing threads).  Category and tags as soft evidence (issue 16); measured in
#: docs/search.md (no relevant suggestion of either dev set lost).
OTHER_TOPIC_RELATIVE_SCORE = 0.3
#: An official article scoring at least this share of the best result comes first (issue 23:
#: "an article that answers well comes first"); one that matches worse keeps its place.
ARTICLE_FIRST_RATIO = 0.7


def order_suggestions(ranked: list[tuple[float, dict]], limit: int, reader=None) -> list[tuple[float, dict]]:
    """The ``limit`` suggestions to show from ``(score, stored fields)`` best first, for every
    backend: an article and the thread it was promoted from in one place
    (:func:`collapse_promoted`); after the first :data:`ALWAYS_SHOWN`, those under :data:`MIN_RELATIVE_SCORE` of the
    best left out, and those sharing no category or tag with the first ones under
    :data:`OTHER_TOPIC_RELATIVE_SCORE`; the best official article moved first when it scores
    :data:`ARTICLE_FIRST_RATIO` of the best (a suggestion list is short: what answers best,
    officially, leads).  ``reader`` (a Session or Connection; the app's session by default) reads
    the articles' source threads: PostgreSQL search passes its own connection, so that a
    suggestion takes no second connection and transaction (three round trips fewer)."""
    ranked = collapse_promoted(ranked, _promoted_threads(ranked, reader))
    if not ranked:
        return []
    best = ranked[0][0]
    if best <= 0:
        return ranked[:limit]
    first = ranked[:ALWAYS_SHOWN]
    topics = set().union(*(_topics(f) for _score, f in first))
    kept = first + [pair for pair in ranked[ALWAYS_SHOWN:] if pair[0] >= best * (
        MIN_RELATIVE_SCORE if _topics(pair[1]) & topics else max(MIN_RELATIVE_SCORE, OTHER_TOPIC_RELATIVE_SCORE))]
    article = next((i for i, (score, f) in enumerate(kept) if f.get("type") == "article"), None)
    if article and kept[article][0] >= ARTICLE_FIRST_RATIO * best:
        kept.insert(0, kept.pop(article))
    return kept[:limit]


def collapse_promoted(ranked: list[tuple[float, dict]], promoted: dict[int, int]) -> list[tuple[float, dict]]:
    """An article and the thread it was promoted from (``promoted``: article id -> thread id) are
    one answer, so they take one place: the article's (official, kept up to date), at the better
    of the two places and scores. Without this the demo's "charged twice" listed "Where can I
    download invoices for past months?" twice, one of five suggestions wasted."""
    if not promoted:
        return ranked
    articles = {thread_id: pair for pair in ranked for thread_id in [_source_thread(pair[1], promoted)]
                if thread_id is not None}  # source thread -> the article's (score, fields)
    out: list[tuple[float, dict]] = []
    for score, f in ranked:
        kind, key = f.get("type"), f.get("id")
        thread_id = int(key) if kind == "thread" and key is not None else _source_thread(f, promoted)
        if thread_id is None or thread_id not in articles:
            out.append((score, f))
        elif articles[thread_id] is not None:  # the first of the two met (ranked is best first)
            out.append((max(score, articles[thread_id][0]), articles[thread_id][1]))
            articles[thread_id] = None
    return out


def _source_thread(f: dict, promoted: dict[int, int]) -> int | None:
    key = f.get("id")
    return promoted.get(int(key)) if f.get("type") == "article" and key is not None else None


def _promoted_threads(ranked: list[tuple[float, dict]], reader=None) -> dict[int, int]:
    """The source threads of the articles among ``ranked`` (no read when there is none)."""
    ids = [f["id"] for _score, f in ranked if f.get("type") == "article" and f.get("id") is not None]
    return documents.promoted_threads(reader if reader is not None else db.session, ids) if ids else {}


def _topics(f: dict) -> set[str]:
    """What stored fields say a document is about: its category and its tags (both backends)."""
    value = f.get("category_id")
    category = set() if value in (None, "") else {f"category:{value}"}
    return category | {f"tag:{tag}" for tag in (f.get("tags") or "").split()}


def suggestion(f: dict, score: float, terms: list[str]) -> dict:
    return {
        "type": f["type"],
        "id": f["id"],
        "title": f["title"],
        "url": f["url"],
        "solved": bool(f.get("solved")),
        "snippet": snippets.plain(f.get("snippet_text", ""), terms),
        "score": round(float(score), 4),
    }


def page_hit(f: dict, score: float, terms: list[str]) -> Hit:
    solved_hit = bool(f.get("solved"))
    source = "accepted" if solved_hit else "question"
    text = f.get("snippet_text", "") or ""
    spans = snippets.matches(text, terms)
    # Show the question when the accepted answer does not mention the words.
    if solved_hit and terms and not spans:
        question_spans = snippets.matches(f.get("question_text", ""), terms)
        if question_spans:
            text, source, spans = f.get("question_text", "") or "", "question", question_spans
    return Hit(
        type=f["type"], id=f["id"], title=f["title"], url=f["url"], solved=solved_hit,
        score=round(float(score), 4), votes=f.get("votes") or 0, replies=f.get("replies") or 0,
        status=f.get("status") or "",
        category_id=int(f["category_id"]) if f.get("category_id") else None,
        category_name=f.get("category_name") or "", tags=(f.get("tags") or "").split(),
        created=f.get("created"), activity=f.get("activity"),
        title_html=snippets.highlight_title(f["title"], terms),
        snippet_html=snippets.highlighted(text, terms, spans=spans), snippet_source=source,
    )
