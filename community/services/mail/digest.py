"""The daily digest (``flask --app community mail digest``, run daily from cron).

One mail per member, in three sections (the issue's "new answers in what you watch,
unanswered questions you could answer, ideas you follow that changed"):

- **New in what you follow**: their unread notifications since their last digest (at most a
  day back) whose kind they chose to get "in the daily digest", but those of a thread they
  muted since (replies, posts where they
  watch, mentions, accepts, tickets, reminders; a reminder lists the thread's answers with a
  one-click accept link, read when the digest is built);
- **Questions you could answer**: ``unanswered`` notifications, and the questions asked since
  the last digest that nobody has answered yet in the categories and tags they watch or track
  (``could_answer``: not their own, not muted, not locked; at most ``QUESTIONS``), when their
  choice for "unanswered" is the digest;
- **Ideas you follow**: status changes, official responses and comments.

Nothing is sent to a member with nothing new.  Each member's digest is claimed with a
conditional UPDATE of ``users.digest_sent_at``, so two runs at once queue it once.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, or_, select, update

from ...extensions import db, write_intent
from ...models import (EMAIL_KIND_OF, CategorySubscription, Notification, Post, TagSubscription, Thread,
                       User, utcnow)
from ...models.forum import thread_tags
from ...urls import absolute_url, thread_url
from ..accounts import preferences, subscriptions
from ..notifications import MUTABLE_KINDS
from . import messages
from .notify import unsubscribe_headers

WINDOW = timedelta(days=1)
#: At most this many unanswered questions in one digest, newest first.
QUESTIONS = 5
#: Levels of a category or tag that make its questions "yours" to answer.
FOLLOWING = ("watching", "tracking")
#: The sections, in the mail's order, and which notification kinds go in each (the rest: "news").
SECTIONS = (("news", "New in what you follow"), ("questions", "Questions you could answer"),
            ("ideas", "Ideas you follow"))
SECTION_OF = {"unanswered": "questions", "idea_status": "ideas", "idea_comment": "ideas"}


def _claim(user: User, now) -> bool:
    previous = user.digest_sent_at
    condition = User.digest_sent_at.is_(None) if previous is None else User.digest_sent_at == previous
    return db.session.execute(update(User).where(User.id == user.id, condition).values(digest_sent_at=now)
                              .execution_options(synchronize_session=False)).rowcount == 1


def could_answer(user_id: int, since, now, skip_thread_ids=()) -> list[Thread]:
    """Questions asked in ``(since, now]`` with no reply yet, in a category or tag the member
    watches or tracks: not theirs, not locked, not muted by them (its own level wins), newest first."""
    categories = select(CategorySubscription.category_id).where(
        CategorySubscription.user_id == user_id, CategorySubscription.level.in_(FOLLOWING))
    tags = select(TagSubscription.tag_id).where(TagSubscription.user_id == user_id,
                                                TagSubscription.level.in_(FOLLOWING))
    tagged = exists().where(thread_tags.c.thread_id == Thread.id, thread_tags.c.tag_id.in_(tags))
    query = select(Thread).where(Thread.visible, Thread.reply_count == 0, Thread.locked.is_(False),
                                 Thread.author_id != user_id, Thread.created_at > since, Thread.created_at <= now,
                                 or_(Thread.category_id.in_(categories), tagged))
    if skip_thread_ids:
        query = query.where(Thread.id.not_in(list(skip_thread_ids)))
    found = db.session.execute(query.order_by(Thread.created_at.desc(), Thread.id.desc()).limit(QUESTIONS * 2))
    return [t for t in found.scalars() if subscriptions.effective(user_id, t.id) != "muted"][:QUESTIONS]


def _followers() -> set[int]:
    """Members who watch or track a category or tag (candidates for "Questions you could answer")."""
    rows = db.session.execute(
        select(CategorySubscription.user_id).where(CategorySubscription.level.in_(FOLLOWING))
        .union(select(TagSubscription.user_id).where(TagSubscription.level.in_(FOLLOWING)))).scalars()
    return set(rows)


def _section(note: Notification) -> str:
    """A notification's section; a new question where the member watches ("watching" naming the
    question post) is one they could answer while nobody has."""
    if note.kind == "watching" and note.post_id:
        post, thread = db.session.get(Post, note.post_id), db.session.get(Thread, note.thread_id)
        if post is not None and post.is_question and thread is not None and thread.reply_count == 0 \
                and not thread.locked:
            return "questions"
    return SECTION_OF.get(note.kind, "news")


def _item(note: Notification) -> dict:
    item = {"message": note.message, "link": absolute_url(note.url)}
    if note.kind == "reminder" and note.thread_id:
        from .reminders import answer_items

        thread = db.session.get(Thread, note.thread_id)
        if thread is not None and thread.visible and thread.accepted_post_id is None:
            item["answers"] = answer_items(thread)
    return item


def sections_for(user: User, notes: list[Notification], now) -> dict[str, list[dict]]:
    """What one member's digest lists, by section (empty when nothing is new)."""
    since = user.digest_sent_at or (now - WINDOW)
    choice = preferences.choices(user.id)
    wanted = [n for n in notes if n.created_at > since and choice[EMAIL_KIND_OF[n.kind]] == "digest"
              and not (n.kind in MUTABLE_KINDS and subscriptions.is_muted(user.id, n.thread_id))]
    sections: dict[str, list[dict]] = {key: [] for key, _ in SECTIONS}
    for note in wanted:
        sections[_section(note)].append(_item(note))
    listed = {n.thread_id for n in wanted if n.thread_id}
    if choice["unanswered"] == "digest":
        for thread in could_answer(user.id, max(since, now - WINDOW), now, listed):
            sections["questions"].append({"message": f"“{thread.title}” in {thread.category.name}, "
                                                     "no answer yet", "link": absolute_url(thread_url(thread))})
    return sections


def build(now=None) -> dict:
    """Queue today's digests; returns ``{"digests": n, "items": m}``.  Commits per member."""
    now = now or utcnow()
    notes = db.session.execute(
        select(Notification).where(Notification.read_at.is_(None), Notification.created_at > now - WINDOW,
                                   Notification.created_at <= now,
                                   Notification.kind.in_(list(EMAIL_KIND_OF)))
        .order_by(Notification.user_id, Notification.id)).scalars().all()
    by_user: dict[int, list[Notification]] = {}
    for note in notes:
        by_user.setdefault(note.user_id, []).append(note)
    counts = {"digests": 0, "items": 0}
    for user_id in sorted(set(by_user) | _followers()):
        with write_intent():
            user = db.session.get(User, user_id)
            if user is None or user.deleted_at is not None:
                db.session.rollback()
                continue
            sections = sections_for(user, by_user.get(user_id, []), now)
            count = sum(len(items) for items in sections.values())
            if not count or not _claim(user, now):
                db.session.rollback()
                continue
            unsubscribe_url = absolute_url(f"/unsubscribe/{preferences.unsubscribe_token(user_id, 'digest')}")
            messages.queue("digest", to=user.email, user=user, count=count,
                           sections=[(title, sections[key]) for key, title in SECTIONS if sections[key]],
                           unsubscribe_url=unsubscribe_url, settings_url=absolute_url("/settings/notifications"),
                           headers=unsubscribe_headers(unsubscribe_url),
                           secret=messages.holds_accept_links([i for items in sections.values() for i in items]))
            db.session.commit()
        counts["digests"] += 1
        counts["items"] += count
    return counts
