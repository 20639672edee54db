"""Named queries for thread listings; views paginate the statements they return."""
from __future__ import annotations

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import Category, Post, Tag, Thread, thread_tags

SORTS = {
    "activity": "Latest activity",
    "newest": "Newest",
    "votes": "Most votes",
    "unanswered": "Unanswered",
    "unsolved": "Unsolved",
    "solved": "Solved",
}

# The all-questions page keeps the order and the filter apart, so that
# "most votes among the unsolved" is one URL.
ORDERS = {"activity": "Latest activity", "newest": "Newest", "votes": "Most votes"}
STATUSES = {"all": "All", "unanswered": "Unanswered", "unsolved": "Unsolved", "solved": "Solved"}


def threads(*, category_id: int | None = None, tag: str | None = None, sort: str = "activity",
            author_id: int | None = None, include_hidden: bool = False,
            status: str | None = None) -> Select:
    """Visible threads, filtered and sorted; pinned threads first in category listings.

    ``sort`` is one of ``SORTS`` (which mixes orders and filters, as the
    category tabs do); ``status`` (``STATUSES``) filters on its own.
    """
    stmt = select(Thread).options(
        selectinload(Thread.author), selectinload(Thread.category), selectinload(Thread.tags)
    ).where(Thread.live if include_hidden else Thread.visible)
    if category_id is not None:
        stmt = stmt.where(Thread.category_id == category_id)
    if author_id is not None:
        stmt = stmt.where(Thread.author_id == author_id)
    if tag:
        stmt = stmt.join(thread_tags, thread_tags.c.thread_id == Thread.id).join(
            Tag, Tag.id == thread_tags.c.tag_id).where(Tag.name == tag)
    for condition in {sort, status} & {"unanswered", "unsolved", "solved"}:
        stmt = stmt.where(_STATUS_CONDITIONS[condition]())
    order = {
        "newest": [Thread.created_at.desc()],
        "votes": [Thread.score.desc(), Thread.last_activity_at.desc()],
        "unanswered": [Thread.created_at.desc()],
    }.get(sort, [Thread.last_activity_at.desc()])
    if category_id is not None and sort == "activity":
        order = [Thread.pinned.desc(), *order]
    return stmt.order_by(*order, Thread.id.desc())


_STATUS_CONDITIONS = {
    "unanswered": lambda: Thread.reply_count == 0,
    "unsolved": lambda: Thread.accepted_post_id.is_(None),
    "solved": lambda: Thread.accepted_post_id.is_not(None),
}


def categories() -> list[Category]:
    return list(db.session.execute(select(Category).order_by(Category.position, Category.name)).scalars())


def category_stats() -> dict[int, dict]:
    """Thread and solved counts per category, in one query."""
    from sqlalchemy import case, func

    rows = db.session.execute(
        select(Thread.category_id, func.count(Thread.id),
               func.sum(case((Thread.accepted_post_id.is_not(None), 1), else_=0)))
        .where(Thread.visible)
        .group_by(Thread.category_id)
    ).all()
    return {cid: {"threads": n, "solved": int(s or 0)} for cid, n, s in rows}


def thread_posts(thread: Thread, *, order: str = "votes", include_hidden: bool = False,
                 viewer_id: int | None = None):
    """(question, accepted, answers) for a thread page, authors loaded in the same query.

    Hidden posts are left out unless ``include_hidden`` (staff); a viewer
    still sees their own hidden posts, marked hidden, so they know why.
    """
    stmt = (select(Post).options(selectinload(Post.author), selectinload(Post.edited_by))
            .where(Post.thread_id == thread.id, Post.deleted.is_(False)))
    if not include_hidden:
        own = Post.author_id == viewer_id if viewer_id is not None else false()
        stmt = stmt.where(or_(Post.hidden.is_(False), own))
    posts = list(db.session.execute(stmt).scalars())
    question = next((p for p in posts if p.is_question), None)
    accepted = next((p for p in posts if p.id == thread.accepted_post_id), None)
    answers = [p for p in posts if not p.is_question and p.id != thread.accepted_post_id]
    if order == "date":
        answers.sort(key=lambda p: (p.created_at, p.id))
    else:
        answers.sort(key=lambda p: (-(1 if p.is_official else 0), -p.score, p.created_at, p.id))
    return question, accepted, answers


def popular_tags(limit: int = 30):
    from sqlalchemy import func

    return db.session.execute(
        select(Tag.name, func.count(thread_tags.c.thread_id).label("n"))
        .join(thread_tags, thread_tags.c.tag_id == Tag.id)
        .group_by(Tag.name).order_by(func.count(thread_tags.c.thread_id).desc(), Tag.name).limit(limit)
    ).all()
