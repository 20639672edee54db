"""Stored document fields to what callers get (a suggestion dict, a search-page ``Hit``), for every backend."""
from __future__ import annotations

from . import snippets
from .results import Hit


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
