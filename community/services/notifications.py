"""In-app notifications.  The one place that decides who hears about what.

Callers commit; a notification is written in the same transaction as the
event that caused it (a reply's and a new question's: in the fan-out's transaction after the
post's commit, ``services/fanout.py``), with its mail (``services/mail/notify.py``).
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from ..extensions import db
from ..markup import mentioned_usernames
from ..models import Notification, User, utcnow


def notify(user_id: int | None, kind: str, message: str, url: str, *, actor_id=None,
           thread_id=None, post_id=None, details: dict | None = None,
           levels: dict[int, str] | None = None) -> Notification | None:
    """Notify ``user_id`` unless they caused the event themselves, muted the thread (or its
    category or tag) or turned the kind off; emails it too when their preference says
    "immediately" (``services/mail/notify``; ``details`` go to the mail's template).
    ``levels``: ``subscriptions.levels_for`` of the thread, read in this transaction by a caller
    that tells several of its people (a fan-out), so that each one's mute is not read again."""
    from ..models import EMAIL_KIND_OF
    from .accounts import preferences, subscriptions
    from .mail import notify as mail_notify

    if user_id is None or user_id == actor_id:
        return None
    if kind in MUTABLE_KINDS and (levels.get(user_id) == "muted" if levels is not None
                                  else subscriptions.is_muted(user_id, thread_id)):
        return None
    choice = preferences.email_choice(user_id, EMAIL_KIND_OF[kind]) if kind in EMAIL_KIND_OF else None
    if choice == "off":
        return None
    note = Notification(user_id=user_id, kind=kind, message=message[:300], url=url[:300],
                        actor_id=actor_id, thread_id=thread_id, post_id=post_id)
    db.session.add(note)
    mail_notify.email_for(note, details, choice=choice)
    return note


#: Kinds that a muted thread silences (an accepted answer or a ticket reply still reaches you).
MUTABLE_KINDS = ("reply", "mention", "watching", "unanswered", "reminder")


def _tell_watchers(user_ids, message: str, *, thread, post, actor, url: str, skip_ids=(), levels=None) -> int:
    """One ``watching`` notification to each member in ``user_ids`` but ``skip_ids``; how many."""
    return sum(1 for user_id in user_ids if user_id not in skip_ids and notify(
        user_id, "watching", message, url, actor_id=actor.id, thread_id=thread.id, post_id=post.id,
        levels=levels))


def notify_watchers(thread, post, actor, url: str, skip_ids=(), *, title: str | None = None,
                    levels: dict[int, str] | None = None) -> int:
    """A new post: everyone watching the thread (itself, its category or a tag) hears of it
    (not its author, who got "reply").  ``title``: the thread's as the post saw it; ``levels``:
    the thread's ``subscriptions.levels_for``, when the caller read them already."""
    from .accounts import subscriptions

    levels = subscriptions.levels_for(thread) if levels is None else levels
    return _tell_watchers(subscriptions.watching(levels), f"{actor.username} posted in “{title or thread.title}”",
                          thread=thread, post=post, actor=actor, url=url, skip_ids=skip_ids, levels=levels)


def notify_new_thread(thread, post, actor, url: str, skip_ids=(), *, title: str | None = None) -> int:
    """A new question: the members watching its category or one of its tags hear of it."""
    from .accounts import subscriptions

    return _tell_watchers(subscriptions.category_and_tag_watchers(thread),
                          f"New question in {thread.category.name}: “{title or thread.title}”",
                          thread=thread, post=post, actor=actor, url=url, skip_ids=skip_ids)


def notify_named(names, *, actor, thread, post, url: str, skip_ids=(), title: str | None = None,
                 levels: dict[int, str] | None = None) -> int:
    """Notify each existing user of ``names`` (lower-cased @names, as ``markup.mentioned_usernames``
    gives them) that they were mentioned; how many were (``levels``: as for ``notify``)."""
    if not names:
        return 0
    users = db.session.execute(
        select(User).where(func.lower(User.username).in_(sorted(names))).order_by(User.id)
    ).scalars()
    count = 0
    for user in users:
        if user.id in skip_ids:
            continue
        if notify(user.id, "mention", f"{actor.username} mentioned you in “{title or thread.title}”",
                  url, actor_id=actor.id, thread_id=thread.id, post_id=post.id, levels=levels):
            count += 1
    return count


def ids_named(names) -> set[int]:
    """Ids of the existing users of ``names`` (lower-cased @names)."""
    if not names:
        return set()
    return set(db.session.execute(select(User.id).where(func.lower(User.username).in_(sorted(names)))).scalars())


def mentioned_names(text: str) -> set[str]:
    """The usernames (as stored) of existing accounts @mentioned in ``text``: the ones the
    Markdown links to their profile (``markup.render_markdown(mentions=...)``)."""
    names = mentioned_usernames(text)
    if not names:
        return set()
    return set(db.session.execute(select(User.username).where(func.lower(User.username).in_(names),
                                                              User.deleted_at.is_(None))).scalars())


def mentioned_ids(text: str) -> set[int]:
    """Ids of the existing users @mentioned in ``text`` (not inside code)."""
    return ids_named(mentioned_usernames(text))


def unread_count(user_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ).scalar_one()


def for_user(user_id: int):
    """Statement for a user's notifications, newest first (views paginate it)."""
    return (select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.id.desc()))


def mark_read(user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or all) of a user's notifications read; returns rows changed."""
    stmt = update(Notification).where(Notification.user_id == user_id,
                                      Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return db.session.execute(stmt.values(read_at=utcnow())).rowcount
