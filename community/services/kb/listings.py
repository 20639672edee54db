"""Which articles a reader sees: published ones for everyone, every state for staff."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from ...models import Article, Tag, article_tags


def articles(*, category_id: int | None = None, tag: str | None = None, state: str | None = None,
             include_unpublished: bool = False) -> Select:
    """Articles, most recently updated first; members only ever get published ones."""
    query = select(Article).options(selectinload(Article.category), selectinload(Article.tags))
    if not include_unpublished:
        query = query.where(Article.state == "published")
    elif state:
        query = query.where(Article.state == state)
    if category_id:
        query = query.where(Article.category_id == category_id)
    if tag:
        query = query.where(Article.id.in_(
            select(article_tags.c.article_id).join(Tag, Tag.id == article_tags.c.tag_id).where(Tag.name == tag)))
    return query.order_by(Article.updated_at.desc(), Article.id.desc())
