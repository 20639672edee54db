"""Database rows to index documents.  The database is the source of truth.

``thread_documents(session, ids)`` loads threads, their categories and tags, and of their
visible posts those a document is made of (the question, the accepted answer and the first
answers up to ``INDEXED_CHARS`` of text) in a few queries whatever the number of ids, and returns
``{key: document or None}``: ``None`` means "not searchable" (missing,
hidden, deleted or merged), so the caller deletes it from the index.
"""
from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from sqlalchemy import Connection, and_, func, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload

from ..models import Post, Thread
from ..urls import article_url, idea_url, thread_url
from . import learned
from .schema import INDEXED_CHARS, STORED_CHARS, prior

_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")
CHUNK = 500


def html_to_text(markup: str) -> str:
    """Text of stored, already-sanitized HTML: tags dropped, entities decoded, spaces squeezed.

    Fast (regular expressions, no HTML parser) because it runs for every post
    on bulk imports; the result is only indexed or HTML-escaped for display.
    """
    text = _TAG_RE.sub(" ", markup or "")
    return _SPACE_RE.sub(" ", html.unescape(text)).strip()


def thread_key(thread_id: int) -> str:
    return f"thread:{thread_id}"


def idea_key(idea_id: int) -> str:
    return f"idea:{idea_id}"


def _chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def thread_document(thread: Thread, posts: list[Post], learned: str = "",
                    texts: dict[int, str] | None = None) -> dict | None:
    """The index document of one thread given its posts (any order), or ``None`` if not searchable.

    ``posts``: objects or rows with ``id``, ``is_question``, ``body_html`` and ``visible``.
    ``learned``: the text of its learned evidence (``search/learned.py``).  ``texts``: post id ->
    ``html_to_text(body_html)`` where the caller already has it (the import's renderers).
    """
    def text_of(post) -> str:
        known = texts.get(post.id) if texts else None
        return html_to_text(post.body_html) if known is None else known

    if not thread.visible:
        return None
    question = accepted = None
    others: list[str] = []
    for post in sorted(posts, key=lambda p: p.id):
        if not post.visible:
            continue
        if post.id == thread.question_post_id or (post.is_question and question is None):
            question = post
        elif post.id == thread.accepted_post_id:
            accepted = post
        else:
            others.append(text_of(post))
    question_text = text_of(question) if question else ""
    accepted_text = text_of(accepted) if accepted else ""
    solved = accepted is not None
    answers_text = " ".join(others)[:INDEXED_CHARS]

    category = thread.category
    return {
        "key": thread_key(thread.id),
        "type": "thread",
        "id": thread.id,
        "url": thread_url(thread),
        "title": thread.title,
        "question": question_text[:INDEXED_CHARS],
        "accepted": accepted_text[:INDEXED_CHARS],
        "answers": answers_text,
        "tags": " ".join(tag.name for tag in thread.tags),
        "category": category.name if category else "",
        "learned": learned,
        "category_id": str(thread.category_id),
        "category_name": category.name if category else "",
        "solved": solved,
        "votes": int(thread.score or 0),
        "prior": int(round(prior(solved, thread.score or 0) * 1000)),
        "replies": int(thread.reply_count or 0),
        "status": "solved" if solved else ("answered" if thread.reply_count else "open"),
        "created": thread.created_at,
        "activity": thread.last_activity_at or thread.created_at,
        "snippet_text": (accepted_text or question_text)[:STORED_CHARS],
        "question_text": question_text[:STORED_CHARS],
        **sort_keys(thread.created_at, thread.last_activity_at or thread.created_at, thread.score),
    }


def thread_documents(session: Session, ids: Iterable[int]) -> dict[str, dict | None]:
    """Documents for ``ids``, loaded in a constant number of queries per chunk of 500.

    A thread's posts are read as rows of the four columns a document needs, and only as many
    as it takes (``_document_posts``): a reply to a long thread does not read the whole thread.
    """
    out: dict[str, dict | None] = {}
    for chunk in _chunks(ids):
        threads = {t.id: t for t in session.execute(
            select(Thread).where(Thread.id.in_(chunk))
            .options(joinedload(Thread.category), selectinload(Thread.tags))
        ).unique().scalars()}
        posts, texts = _document_posts(session, threads.values())
        learned_texts = learned.learned_texts(session, [t.id for t in threads.values() if t.visible])
        for thread_id in chunk:
            thread = threads.get(thread_id)
            out[thread_key(thread_id)] = (thread_document(thread, posts[thread_id], learned_texts.get(thread_id, ""),
                                                          texts) if thread else None)
    return out


#: Answers read per thread and round by ``_document_posts`` (a round is one query).
ANSWER_ROUND = 40


def _document_posts(session: Session, threads: Iterable[Thread]) -> tuple[dict[int, list], dict[int, str]]:
    """``({thread_id: [post rows]}, {post id: text})``: of each visible thread's visible posts,
    those its document is made of, as rows with ``id``, ``thread_id``, ``is_question``,
    ``body_html`` and ``visible`` (true).

    The question and the accepted answer (and any post marked ``is_question``) are always read;
    the other answers in id order, ``ANSWER_ROUND`` a round, until their text fills
    ``INDEXED_CHARS``: ``thread_document`` joins them in that order and cuts there, so the
    answers after that point cannot change the document, and the result is the one all the
    posts give.  One thread is read with ``id > last ... LIMIT`` (the index ``ix_posts_thread``:
    the cost of a reply does not grow with its thread), several with ``row_number()``.
    """
    visible = [t for t in threads if t.visible]
    posts: dict[int, list] = defaultdict(list)
    texts: dict[int, str] = {}
    if not visible:
        return posts, texts
    columns = (Post.id, Post.thread_id, Post.is_question, Post.body_html, true().label("visible"))
    named = [i for t in visible for i in (t.question_post_id, t.accepted_post_id) if i is not None]
    special = or_(Post.is_question.is_(True), Post.id.in_(named)) if named else Post.is_question.is_(True)
    ids = [t.id for t in visible]
    for row in session.execute(select(*columns).where(Post.thread_id.in_(ids), Post.visible, special)):
        posts[row.thread_id].append(row)
    others = and_(Post.visible, Post.is_question.is_(False), Post.id.not_in(named) if named else true())
    filled = dict.fromkeys(ids, 0)           # thread -> length of its answers' text so far
    last = dict.fromkeys(ids, 0)             # thread -> id of the last answer read
    pending, round_ = ids, 0
    while pending:
        if len(pending) == 1:
            rows = session.execute(select(*columns).where(Post.thread_id == pending[0], others,
                                                          Post.id > last[pending[0]])
                                   .order_by(Post.id).limit(ANSWER_ROUND)).all()
        else:   # every pending thread has had exactly round_ * ANSWER_ROUND answers read
            number = func.row_number().over(partition_by=Post.thread_id, order_by=Post.id).label("number")
            ranked = select(*columns, number).where(Post.thread_id.in_(pending), others).subquery()
            rows = session.execute(select(ranked.c.id, ranked.c.thread_id, ranked.c.is_question, ranked.c.body_html,
                                          ranked.c.visible)
                                   .where(ranked.c.number > round_ * ANSWER_ROUND,
                                          ranked.c.number <= (round_ + 1) * ANSWER_ROUND)).all()
        read: dict[int, int] = defaultdict(int)
        for row in rows:
            text = html_to_text(row.body_html)
            texts[row.id] = text
            posts[row.thread_id].append(row)
            filled[row.thread_id] += len(text) + 1
            last[row.thread_id] = max(last[row.thread_id], row.id)
            read[row.thread_id] += 1
        pending = [t for t in pending if read[t] == ANSWER_ROUND and filled[t] <= INDEXED_CHARS]
        round_ += 1
    return posts, texts


def all_thread_ids(session: Session) -> list[int]:
    """Ids of every thread that may be searchable (the document decides)."""
    return list(session.execute(
        select(Thread.id).where(Thread.visible).order_by(Thread.id)
    ).scalars())


# -- ideas (branch ``ideas``) ------------------------------------------------------
#
# Fields read from ``community.models.ideas.Idea``: id, title, slug, body_html
# (or body), status, vote_count, category_id / category, tags, merged_into_id,
# created_at, last_activity_at, response_html (the official response), and
# ``hidden`` / ``deleted`` when they exist.  Merged (``merged_into_id``) and
# hidden ideas are not searchable.

def idea_model():
    """The Idea model when the ideas module is installed, else ``None``."""
    try:
        from ..models.ideas import Idea
    except ImportError:
        return None
    return Idea


def idea_document(idea) -> dict | None:
    if getattr(idea, "merged_into_id", None) or getattr(idea, "hidden", False) \
            or getattr(idea, "deleted", False):
        return None
    body = html_to_text(getattr(idea, "body_html", None) or html.escape(getattr(idea, "body", "") or ""))
    response = html_to_text(getattr(idea, "response_html", None) or "")
    category = getattr(idea, "category", None)
    votes = int(getattr(idea, "vote_count", 0) or 0)
    created = getattr(idea, "created_at", None)
    return {
        "key": idea_key(idea.id),
        "type": "idea",
        "id": idea.id,
        "url": idea_url(idea),
        "title": idea.title,
        "question": body[:INDEXED_CHARS],
        "accepted": response[:INDEXED_CHARS],
        "answers": "",
        "tags": " ".join(tag.name for tag in (getattr(idea, "tags", None) or [])),
        "category": category.name if category else "",
        "category_id": str(getattr(idea, "category_id", "") or ""),
        "category_name": category.name if category else "",
        "solved": False,
        "votes": votes,
        "prior": int(round(prior(False, votes) * 1000)),
        "replies": int(getattr(idea, "comment_count", 0) or 0),
        "status": getattr(idea, "status", "") or "",
        "created": created,
        "activity": getattr(idea, "last_activity_at", None) or created,
        "snippet_text": body[:STORED_CHARS],
        "question_text": body[:STORED_CHARS],
        **sort_keys(created, getattr(idea, "last_activity_at", None) or created, votes),
    }


def idea_documents(session: Session, ids: Iterable[int]) -> dict[str, dict | None]:
    Idea = idea_model()
    out: dict[str, dict | None] = {}
    if Idea is None:
        return out
    options = [selectinload(Idea.category)] if hasattr(Idea, "category") else []
    if hasattr(Idea, "tags"):
        options.append(selectinload(Idea.tags))
    for chunk in _chunks(ids):
        ideas = {i.id: i for i in session.execute(select(Idea).where(Idea.id.in_(chunk))
                                                  .options(*options)).scalars()}
        for idea_id in chunk:
            idea = ideas.get(idea_id)
            out[idea_key(idea_id)] = idea_document(idea) if idea else None
    return out


def all_idea_ids(session: Session) -> list[int]:
    Idea = idea_model()
    if Idea is None:
        return []
    return list(session.execute(select(Idea.id).order_by(Idea.id)).scalars())


# -- knowledge-base articles ------------------------------------------------------
#
# Only published articles are searchable.  They carry the "solved" prior (an
# official answer) and ``type`` "article", so suggestions mark them as official.

def article_key(article_id: int) -> str:
    return f"article:{article_id}"


def article_document(article) -> dict | None:
    if article.state != "published":
        return None
    body = html_to_text(article.body_html)
    category = article.category
    return {
        "key": article_key(article.id), "type": "article", "id": article.id, "url": article_url(article),
        "title": article.title, "question": body[:INDEXED_CHARS], "accepted": "", "answers": "",
        "tags": " ".join(tag.name for tag in article.tags),
        "category": category.name if category else "", "category_id": str(article.category_id or ""),
        "category_name": category.name if category else "", "solved": True,
        "votes": article.helpful_yes, "prior": int(round(prior(True, article.helpful_yes) * 1000)),
        "replies": 0, "status": "official", "created": article.created_at, "activity": article.updated_at,
        "snippet_text": body[:STORED_CHARS], "question_text": body[:STORED_CHARS],
        **sort_keys(article.created_at, article.updated_at, article.helpful_yes),
    }


def sort_keys(created, activity, votes) -> dict:
    """The columns the search page sorts by besides relevance (``schema.SORTS``)."""
    return {"created_order": epoch_seconds(created), "activity_order": epoch_seconds(activity or created),
            "votes_order": max(min(int(votes or 0), 2**31 - 1), -(2**31))}


def epoch_seconds(moment) -> int:
    """Whole seconds since 1970 of a naive UTC datetime (0 when unknown), as the sort columns
    hold them (the search page's date filter reads ``created_order`` too)."""
    import calendar

    return calendar.timegm(moment.utctimetuple()) if moment else 0


def article_documents(session: Session, ids: Iterable[int]) -> dict[str, dict | None]:
    from ..models import Article

    out: dict[str, dict | None] = {}
    for chunk in _chunks(ids):
        found = {a.id: a for a in session.execute(
            select(Article).where(Article.id.in_(chunk))
            .options(selectinload(Article.category), selectinload(Article.tags))).scalars()}
        for article_id in chunk:
            article = found.get(article_id)
            out[article_key(article_id)] = article_document(article) if article else None
    return out


def promoted_threads(session: Session | Connection, article_ids: Iterable[int]) -> dict[int, int]:
    """``{article id: id of the thread it was promoted from}`` for those of ``article_ids`` that
    were promoted from a thread (one indexed read: ``source_thread_id`` is unique), through a
    session or a connection."""
    from ..models import Article

    ids = sorted({int(i) for i in article_ids})
    if not ids:
        return {}
    rows = session.execute(select(Article.id, Article.source_thread_id).where(
        Article.id.in_(ids), Article.source_thread_id.is_not(None)))
    return {article_id: thread_id for article_id, thread_id in rows}


def all_article_ids(session: Session) -> list[int]:
    from ..models import Article

    return list(session.execute(select(Article.id).where(Article.state == "published")
                                .order_by(Article.id)).scalars())


#: Every kind of searchable document, in the order the search page lists its filters.
SEARCH_TYPES = ("thread", "article", "idea")


def documents_for(session: Session, keys: Iterable[str]) -> dict[str, dict | None]:
    """Documents for keys like ``thread:3`` / ``article:2`` / ``idea:4``."""
    ids: dict[str, list[int]] = {kind: [] for kind in SEARCH_TYPES}
    for key in keys:
        kind, _, ident = key.partition(":")
        ids.setdefault(kind, []).append(int(ident))
    docs = thread_documents(session, ids["thread"]) if ids["thread"] else {}
    if ids["idea"]:
        docs.update(idea_documents(session, ids["idea"]))
    if ids["article"]:
        docs.update(article_documents(session, ids["article"]))
    return docs
