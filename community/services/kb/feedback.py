""""Was this helpful?": one answer per visitor per article, counted exactly under concurrency,
and the review list of articles whose readers are not helped.

A visitor is ``u:<user id>`` when logged in, else ``v:<visitor cookie>``.  The
row is an ``INSERT ... ON CONFLICT DO NOTHING`` on (article, voter), and the
counter moves (``helpful_yes + 1``, an SQL expression) only when that insert
really added a row, so ten identical requests at once count once.
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...extensions import db
from ...models import Article, ArticleFeedback, AskEvent, utcnow
from ...models.metrics import CONTACT_KINDS
from ..errors import ValidationError

REASON_MAX_LENGTH = 500


def voter_key(user, visitor_id: str | None) -> str | None:
    if user is not None and getattr(user, "is_authenticated", False):
        return f"u:{user.id}"
    return f"v:{visitor_id}" if visitor_id else None


def _insert():
    return (pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert)(ArticleFeedback)


def record(article: Article, voter: str, helpful: bool, reason: str | None = None, *, user=None) -> bool:
    """Record one visitor's answer; ``True`` if it counted, ``False`` if they had answered already."""
    if not isinstance(helpful, bool):
        raise ValidationError("Say yes or no.", field="helpful")
    reason = re.sub(r"\s+", " ", reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(f"Keep the reason under {REASON_MAX_LENGTH} characters.", field="reason")
    if helpful:
        reason = ""
    user_id = user.id if user is not None and getattr(user, "is_authenticated", False) else None
    statement = _insert().values(article_id=article.id, voter=voter, user_id=user_id, helpful=helpful,
                                 reason=reason, created_at=utcnow()).on_conflict_do_nothing(
        index_elements=["article_id", "voter"]).returning(ArticleFeedback.id)
    # RETURNING says whether the row was added: rowcount is not reliable for an ORM-enabled
    # INSERT ... ON CONFLICT on PostgreSQL.
    if db.session.execute(statement).first() is None:
        return False
    column = Article.helpful_yes if helpful else Article.helpful_no
    db.session.execute(db.update(Article).where(Article.id == article.id).values({column: column + 1}))
    db.session.flush()
    db.session.refresh(article, ["helpful_yes", "helpful_no"])
    return True


def answer_of(article: Article, voter: str | None) -> ArticleFeedback | None:
    if voter is None:
        return None
    return db.session.execute(select(ArticleFeedback).where(
        ArticleFeedback.article_id == article.id, ArticleFeedback.voter == voter)).scalar_one_or_none()


def reasons(article: Article, limit: int = 20) -> list[ArticleFeedback]:
    """The latest "no" answers that say why, for staff."""
    return list(db.session.execute(
        select(ArticleFeedback).where(ArticleFeedback.article_id == article.id,
                                      ArticleFeedback.helpful.is_(False), ArticleFeedback.reason != "")
        .order_by(ArticleFeedback.id.desc()).limit(limit)).scalars())


def needs_review() -> list[tuple[Article, list[str]]]:
    """Published articles to review, each with why: unhelpful, not updated for long, readers who still contact.

    Unhelpful: at least ``KB_REVIEW_MIN_VOTES`` answers and a helpful rate under
    ``KB_REVIEW_HELPFUL_BELOW``.  Old: not updated for ``KB_REVIEW_AFTER_DAYS``.  Readers who
    still contact support: of the last 90 days' sessions that opened it from a suggestion (at
    least ``KB_REVIEW_MIN_VOTES``), ``KB_REVIEW_CONTACT_ABOVE`` or more then contacted.
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
    listed = {article.id for article in rows}
    rows = list(rows) + [a for a in db.session.execute(
        select(Article).where(Article.id.in_(troubled), Article.state == "published")
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
