""""Was this helpful?": one answer per visitor per article, counted exactly under concurrency
(the review list built from it is ``review.py``).

A visitor is ``u:<user id>`` when logged in, else ``v:<visitor cookie>``.  The
row is an ``INSERT ... ON CONFLICT DO NOTHING`` on (article, voter), and the
counter moves (``helpful_yes + 1``, an SQL expression) only when that insert
really added a row, so ten identical requests at once count once.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...extensions import db
from ...models import Article, ArticleFeedback, utcnow
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
