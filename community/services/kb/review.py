"""The knowledge base's review list: published articles that need work, each with why.

Read by staff at ``/kb/review``; the thresholds are settings (``KB_REVIEW_*``) and the rules are
written down in docs/kb.md.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select

from ...extensions import db
from ...models import Article, AskEvent, Post, Thread, utcnow
from ...models.metrics import CONTACT_KINDS


def needs_review() -> list[tuple[Article, list[str]]]:
    """Published articles to review, each with why: unhelpful, not updated for long, readers who
    still contact, the thread it was promoted from reopened.

    Unhelpful: at least ``KB_REVIEW_MIN_VOTES`` answers and a helpful rate under
    ``KB_REVIEW_HELPFUL_BELOW``.  Old: not updated for ``KB_REVIEW_AFTER_DAYS``.  Readers who
    still contact support: of the last 90 days' sessions that opened it from a suggestion (at
    least ``KB_REVIEW_MIN_VOTES``), ``KB_REVIEW_CONTACT_ABOVE`` or more then contacted.
    Reopened: see :func:`reopened_sources`.
    """
    config = current_app.config
    min_votes, below = config["KB_REVIEW_MIN_VOTES"], config["KB_REVIEW_HELPFUL_BELOW"]
    old = utcnow() - timedelta(days=config["KB_REVIEW_AFTER_DAYS"])
    total = Article.helpful_yes + Article.helpful_no
    unhelpful = and_(total >= min_votes, Article.helpful_yes < below * total)
    rows = db.session.execute(
        select(Article).where(Article.state == "published", or_(unhelpful, Article.updated_at < old))
        .order_by(func.coalesce(Article.helpful_yes * 1.0 / func.nullif(total, 0), 1.0), Article.updated_at)
    ).scalars().all()
    readers = contact_after_reading(utcnow() - timedelta(days=90))
    contact_above = config["KB_REVIEW_CONTACT_ABOVE"]
    troubled = {a for a, (opened, contacted) in readers.items()
                if opened >= min_votes and contacted >= contact_above * opened}
    reopened = reopened_sources()
    listed = {article.id for article in rows}
    rows = list(rows) + [a for a in db.session.execute(
        select(Article).where(Article.id.in_(troubled | set(reopened)), Article.state == "published")
        .order_by(Article.id)).scalars() if a.id not in listed]
    out = []
    for article in rows:
        why = []
        if article.id in troubled:
            opened, contacted = readers[article.id]
            why.append(f"{contacted} of {opened} readers from search then contacted support")
        if article.helpful_total >= min_votes and article.helpful_rate < below:
            why.append(f"helpful for {article.helpful_rate:.0%} of {article.helpful_total} readers")
        if article.updated_at < old:
            why.append(f"not updated for over {config['KB_REVIEW_AFTER_DAYS']} days")
        if article.id in reopened:
            why.append(reopened[article.id])
        out.append((article, why))
    return out


def contact_after_reading(since) -> dict[int, tuple[int, int]]:
    """``{article_id: (sessions that opened it from a suggestion since ``since``, of those the
    sessions that afterwards posted a question or wrote to support)}``."""
    opened = db.session.execute(
        select(AskEvent.session_id, AskEvent.article_id, func.min(AskEvent.created_at))
        .where(AskEvent.kind == "suggestion_opened", AskEvent.article_id.is_not(None),
               AskEvent.created_at >= since)
        .group_by(AskEvent.session_id, AskEvent.article_id)).all()
    if not opened:
        return {}
    first_contact = dict(db.session.execute(
        select(AskEvent.session_id, func.min(AskEvent.created_at))
        .where(AskEvent.session_id.in_({row[0] for row in opened}), AskEvent.kind.in_(CONTACT_KINDS))
        .group_by(AskEvent.session_id)).all())
    tally: dict[int, list[int]] = {}
    for session_id, article_id, at in opened:
        counts = tally.setdefault(article_id, [0, 0])
        counts[0] += 1
        counts[1] += session_id in first_contact and first_contact[session_id] >= at
    return {article_id: (o, c) for article_id, (o, c) in tally.items()}


def reopened_sources() -> dict[int, str]:
    """``{article_id: why}`` for published articles whose source thread (the solved thread it was
    promoted from) has reopened since the article was last updated: its accepted answer was
    withdrawn, or the community posted new answers after that update.  Hidden and deleted
    answers do not count; a thread deleted or merged away is not "reopened"."""
    rows = db.session.execute(
        select(Article.id, Article.updated_at, Thread.accepted_post_id, Thread.id)
        .join(Thread, Thread.id == Article.source_thread_id)
        .where(Article.state == "published", Thread.live)).all()
    if not rows:
        return {}
    newer = dict(db.session.execute(
        select(Article.id, func.count(Post.id))
        .join(Post, Post.thread_id == Article.source_thread_id)
        .where(Article.id.in_([row[0] for row in rows]), Post.is_question.is_(False), Post.visible,
               Post.created_at > Article.updated_at)
        .group_by(Article.id)).all())
    out = {}
    for article_id, _updated, accepted_post_id, _thread_id in rows:
        reasons = []
        if accepted_post_id is None:
            reasons.append("its accepted answer was withdrawn")
        if newer.get(article_id):
            count = newer[article_id]
            reasons.append(f"{count} new answer{'' if count == 1 else 's'} since the article was updated")
        if reasons:
            out[article_id] = "the thread it came from reopened: " + " and ".join(reasons)
    return out
