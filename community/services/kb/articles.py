"""Writing, publishing and promoting articles.

An article's Markdown goes through the same sanitizer as posts and is stored
as HTML, so a page view never renders.  Every save of the title or body keeps
an ``ArticleRevision`` (who, when, why).  Callers check
``permissions.can_write_articles`` / ``can_view_article`` and commit.
"""
from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...markup import render_markdown
from ...models import ARTICLE_STATES, Article, ArticleRevision, Category, Post, Thread, User, utcnow
from ..errors import Conflict, NotFound, ValidationError
from ..forum import reputation
from ..forum.threads import clean_body, clean_title, get_tags, parse_tags, slugify
from ..locking import lock

REASON_MAX_LENGTH = 300
MAX_ID = 2**31 - 1


def get_article(article_id) -> Article:
    """The article with this id, or ``NotFound`` (also for ids no database could hold)."""
    try:
        number = int(article_id)
    except (TypeError, ValueError):
        number = 0
    article = db.session.get(Article, number) if 0 < number <= MAX_ID else None
    if article is None:
        raise NotFound("No such article.")
    return article


def clean_state(state: str | None) -> str:
    if state not in ARTICLE_STATES:
        raise ValidationError(f"State must be one of {', '.join(ARTICLE_STATES)}.", field="state")
    return state


def _clean_reason(reason: str | None) -> str:
    reason = re.sub(r"\s+", " ", reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(f"Keep the reason under {REASON_MAX_LENGTH} characters.", field="reason")
    return reason


def create_article(author: User, category: Category, title: str, body: str, tags=None, *,
                   state: str = "draft", reason: str = "Created", source_thread: Thread | None = None) -> Article:
    """A new article in ``state`` (draft or published), with its first revision."""
    title, body, state = clean_title(title), clean_body(body), clean_state(state)
    if state == "archived":
        raise ValidationError("A new article is a draft or published.", field="state")
    now = utcnow()
    article = Article(category_id=category.id, author_id=author.id, title=title, slug=slugify(title),
                      body=body, body_html=render_markdown(body), state=state,
                      source_thread_id=source_thread.id if source_thread else None,
                      created_at=now, updated_at=now, published_at=now if state == "published" else None)
    article.tags = get_tags(parse_tags(tags))
    db.session.add(article)
    db.session.flush()
    db.session.add(ArticleRevision(article_id=article.id, editor_id=author.id, title=title, body=body,
                                   reason=_clean_reason(reason) or "Created", created_at=now))
    return article


def update_article(editor: User, article: Article, *, title=None, body=None, tags=None,
                   category: Category | None = None, reason: str | None = None) -> Article:
    """Change what is given; a changed title or body is a new revision and a new "updated" date."""
    reason = _clean_reason(reason)
    new_title = clean_title(title) if title is not None else article.title
    new_body = clean_body(body) if body is not None else article.body
    if category is not None:
        article.category_id = category.id
    if tags is not None:
        article.tags = get_tags(parse_tags(tags))
    if (new_title, new_body) != (article.title, article.body):
        if not reason:
            raise ValidationError("Say briefly what you changed and why.", field="reason")
        now = utcnow()
        article.title, article.slug = new_title, slugify(new_title)
        article.body, article.body_html = new_body, render_markdown(new_body)
        article.updated_at = now
        db.session.add(ArticleRevision(article_id=article.id, editor_id=editor.id, title=new_title,
                                       body=new_body, reason=reason, created_at=now))
    db.session.flush()
    return article


def set_state(actor: User, article: Article, state: str) -> Article:
    """Publish, archive or return to draft; the first publication dates it."""
    state = clean_state(state)
    if state == "published" and article.published_at is None:
        article.published_at = utcnow()
    article.state = state
    db.session.flush()
    return article


def revisions(article: Article) -> list[ArticleRevision]:
    return list(db.session.execute(
        select(ArticleRevision).where(ArticleRevision.article_id == article.id)
        .order_by(ArticleRevision.id.desc())).scalars())


def article_for_thread(thread_id: int) -> Article | None:
    """The article promoted from this thread, if any."""
    return db.session.execute(select(Article).where(Article.source_thread_id == thread_id)).scalar_one_or_none()


def promotion_draft(thread: Thread) -> dict:
    """The form prefilled from a solved thread: its title, the question and the accepted answer."""
    if not thread.solved or not thread.visible:
        raise ValidationError("Only a visible, solved thread can become an article.")
    # By id, not the relationship: the one a thread re-read under its lock names (``promote``).
    question, answer = db.session.get(Post, thread.question_post_id), db.session.get(Post, thread.accepted_post_id)
    author = answer.author.username if answer.author else "a community member"
    body = (f"{question.body.strip()}\n\n## Answer\n\n{answer.body.strip()}\n\n"
            f"*Based on the community answer by {author}.*")
    return {"title": thread.title, "body": body, "tags": " ".join(t.name for t in thread.tags),
            "category_id": thread.category_id}


def promote(actor: User, thread: Thread, *, title=None, body=None, tags=None, category=None,
            state: str = "draft") -> Article:
    """Create the article for a solved thread and credit the accepted answer's author once.

    A thread becomes at most one article (a unique column; a second promotion is
    a ``Conflict``).  The credit is an ``answer_promoted`` ledger row, not given
    when staff promote their own answer.

    The thread is locked and re-read first (``locking.lock``: promotions of one thread wait for
    each other), and the rule and the draft are taken from it as locked: an accept withdrawn or
    moved while this request waited was promoted and credited as read before.  ``FOR NO KEY
    UPDATE``, not ``FOR UPDATE``: a vote on the answer holding its author, then inserting its
    ledger row (which names the thread), waited for this lock while this promotion waited for that
    author's row to credit them, a deadlock (``tests/kb/test_kb_promotion_concurrency.py``).
    """
    if lock(Thread, thread.id) is None:
        raise NotFound("No such thread.")
    draft = promotion_draft(thread)
    if article_for_thread(thread.id) is not None:
        raise Conflict("This thread is already an article.")
    category = category or db.session.get(Category, thread.category_id)
    try:
        with db.session.begin_nested():
            article = create_article(actor, category, title or draft["title"], body or draft["body"],
                                     draft["tags"] if tags is None else tags, state=state,
                                     reason=f"Promoted from thread {thread.id}", source_thread=thread)
    except IntegrityError:  # a concurrent promotion of the same thread won
        raise Conflict("This thread is already an article.") from None
    answerer = db.session.get(Post, thread.accepted_post_id).author_id
    if answerer != actor.id and current_app.config["REPUTATION_POINTS"].get("answer_promoted"):
        article.credited_user_id = answerer
        reputation.award(answerer, "answer_promoted", actor_id=actor.id, post_id=thread.accepted_post_id,
                         thread_id=thread.id, source=f"article:{article.id}")
    db.session.flush()
    return article
