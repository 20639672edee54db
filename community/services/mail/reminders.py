"""Reminders that close threads (``flask --app community mail reminders``, run hourly from cron).

- A thread with answers by others but none accepted ``ACCEPT_REMINDER_DAYS`` after it was
  asked: its author is reminded once (kind ``reminder``), with the answers listed, best voted
  first, each with a one-click accept link (``accept_links``: signed, expiring, once).
- A question with no reply ``UNANSWERED_NOTIFY_HOURS`` after it was asked: offered once (kind
  ``unanswered``) to the members watching its category or one of its tags.

Each thread is claimed with a conditional UPDATE of its ``accept_reminded_at`` /
``unanswered_offered_at`` before anyone is notified, in the same commit, so two runs at once
remind once.  Only threads asked within ``WINDOW`` past the delay are considered, so that the
first run on a site with years of history does not remind everybody of everything.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, select, update

from ...extensions import db, write_intent
from ...models import Post, Thread, User, utcnow
from ...urls import absolute_url, thread_url
from .. import notifications
from ..accounts import subscriptions
from . import accept_links

WINDOW = timedelta(days=14)


def _answered_by_others():
    return exists().where(Post.thread_id == Thread.id, Post.is_question.is_(False), Post.visible,
                          Post.author_id != Thread.author_id)


def accept_due(now) -> list[int]:
    """Threads whose author is due a reminder to accept."""
    since = now - timedelta(days=current_app.config["ACCEPT_REMINDER_DAYS"])
    return list(db.session.execute(
        select(Thread.id).join(User, User.id == Thread.author_id)
        .where(Thread.visible, Thread.accepted_post_id.is_(None), Thread.accept_reminded_at.is_(None),
               Thread.created_at <= since, Thread.created_at > since - WINDOW, User.deleted_at.is_(None),
               _answered_by_others())
        .order_by(Thread.id)).scalars())


def unanswered_due(now) -> list[int]:
    """Questions nobody answered that are due to be offered to their category's and tags' watchers."""
    since = now - timedelta(hours=current_app.config["UNANSWERED_NOTIFY_HOURS"])
    return list(db.session.execute(
        select(Thread.id).where(Thread.visible, Thread.reply_count == 0, Thread.locked.is_(False),
                                Thread.unanswered_offered_at.is_(None), Thread.created_at <= since,
                                Thread.created_at > since - WINDOW)
        .order_by(Thread.id)).scalars())


def _claim(thread_id: int, column, now) -> bool:
    return db.session.execute(update(Thread).where(Thread.id == thread_id, column.is_(None))
                              .values({column.key: now}).execution_options(synchronize_session=False)
                              ).rowcount == 1


def answers_of(thread: Thread) -> list[Post]:
    """The visible answers by others, best voted first (the reminder's list, the moderators' pick)."""
    return list(db.session.execute(
        select(Post).where(Post.thread_id == thread.id, Post.is_question.is_(False), Post.visible,
                           Post.author_id != thread.author_id)
        .order_by(Post.score.desc(), Post.created_at, Post.id)).scalars())


def answer_items(thread: Thread) -> list[dict]:
    """The reminder's list: each answer with its author, votes, an excerpt, its link and a
    one-click accept link (``accept_links``; one nonce for the whole list, so one use spends all)."""
    nonce = accept_links.new_nonce()
    return [{"author": post.author.shown_name, "score": post.score, "excerpt": _excerpt(post.body),
             "link": absolute_url(thread_url(thread, post.id)),
             "accept": absolute_url(f"/accept/{accept_links.token(thread.author_id, thread.id, post.id, nonce)}")}
            for post in answers_of(thread)]


def remind_to_accept(thread_id: int, now) -> bool:
    """Remind the thread's author once; False when another run did, or it was solved meanwhile."""
    if not _claim(thread_id, Thread.accept_reminded_at, now):
        return False
    thread = db.session.get(Thread, thread_id)
    if thread.accepted_post_id is not None:
        return False
    answers = answer_items(thread)
    notifications.notify(thread.author_id, "reminder",
                         f"Did an answer solve “{thread.title}”? Accept the one that did",
                         thread_url(thread), thread_id=thread.id, details={"answers": answers})
    return True


def offer_unanswered(thread_id: int, now) -> int | None:
    """Offer an unanswered question to its category's and tags' watchers: how many were told
    (None when another run offered it)."""
    if not _claim(thread_id, Thread.unanswered_offered_at, now):
        return None
    thread = db.session.get(Thread, thread_id)
    told = 0
    for user_id in subscriptions.category_and_tag_watchers(thread):
        if notifications.notify(user_id, "unanswered", f"Nobody has answered “{thread.title}” yet: can you?",
                                thread_url(thread), actor_id=thread.author_id, thread_id=thread.id):
            told += 1
    return told


def never_accepted(page: int = 1, per_page: int = 30) -> tuple[list[tuple[Thread, Post]], int]:
    """Moderators' list: threads answered by others, none accepted, ``ACCEPT_REMINDER_DAYS`` after
    they were asked, oldest first, each with its best-voted answer (two queries a page)."""
    from sqlalchemy import func
    from sqlalchemy.orm import selectinload

    since = utcnow() - timedelta(days=current_app.config["ACCEPT_REMINDER_DAYS"])
    where = [Thread.visible, Thread.accepted_post_id.is_(None), Thread.created_at <= since, _answered_by_others()]
    threads = list(db.session.execute(
        select(Thread).options(selectinload(Thread.author)).where(*where)
        .order_by(Thread.created_at, Thread.id).limit(per_page).offset((max(page, 1) - 1) * per_page)).scalars())
    total = db.session.execute(select(func.count()).select_from(Thread).where(*where)).scalar_one()
    best: dict[int, Post] = {}
    if threads:
        authors = {t.id: t.author_id for t in threads}
        for post in db.session.execute(
                select(Post).options(selectinload(Post.author))
                .where(Post.thread_id.in_(authors), Post.is_question.is_(False), Post.visible)
                .order_by(Post.score.desc(), Post.created_at, Post.id)).scalars():
            if post.author_id != authors[post.thread_id]:
                best.setdefault(post.thread_id, post)
    return [(thread, best[thread.id]) for thread in threads if thread.id in best], total


def _excerpt(body: str, limit: int = 160) -> str:
    text = " ".join((body or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def run(now=None) -> dict:
    """Send what is due: ``{"accept": reminded authors, "unanswered": questions offered, "told": members}``."""
    now = now or utcnow()
    counts = {"accept": 0, "unanswered": 0, "told": 0}
    for thread_id in accept_due(now):
        with write_intent():
            reminded = remind_to_accept(thread_id, now)
            db.session.commit()
        counts["accept"] += reminded
    for thread_id in unanswered_due(now):
        with write_intent():
            told = offer_unanswered(thread_id, now)
            db.session.commit()
        if told is not None:
            counts["unanswered"] += 1
            counts["told"] += told
    return counts
