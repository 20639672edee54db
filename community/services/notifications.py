"""In-app notifications.  The one place that decides who hears about what.

Callers commit; a notification is written in the same transaction as the
event that caused it, which is also where the email outbox will hook in.
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from ..extensions import db
from ..markup import mentioned_usernames
from ..models import Notification, User, utcnow


def notify(user_id: int | None, kind: str, message: str, url: str, *, actor_id=None,
           thread_id=None, post_id=None) -> Notification | None:
    """Notify ``user_id`` unless they caused the event themselves or muted the thread; emails
    it too when their preference for the kind says "immediately" (``services/mail/notify``)."""
    from .accounts import preferences
    from .mail import notify as mail_notify

    if user_id is None or user_id == actor_id:
        return None
    if kind in MUTABLE_KINDS and preferences.is_muted(user_id, thread_id):
        return None
    note = Notification(user_id=user_id, kind=kind, message=message[:300], url=url[:300],
                        actor_id=actor_id, thread_id=thread_id, post_id=post_id)
    db.session.add(note)
    mail_notify.email_for(note)
    return note


#: Kinds that a muted thread silences (an accepted answer or a ticket reply still reaches you).
MUTABLE_KINDS = ("reply", "mention", "watching")


def notify_watchers(thread, post, actor, url: str, skip_ids=()) -> int:
    """A new post: everyone watching the thread hears of it (not its author, who got "reply")."""
    from .accounts import preferences

    count = 0
    for user_id in preferences.watchers(thread.id):
        if user_id in skip_ids:
            continue
        if notify(user_id, "watching", f"{actor.username} posted in “{thread.title}”", url,
                  actor_id=actor.id, thread_id=thread.id, post_id=post.id):
            count += 1
    return count


def notify_mentions(text: str, *, actor, thread, post, url: str, skip_ids=(),
                    skip_names=()) -> int:
    """Notify each existing user @mentioned in ``text`` (once each)."""
    names = mentioned_usernames(text) - set(skip_names)
    if not names:
        return 0
    users = db.session.execute(
        select(User).where(func.lower(User.username).in_(names))
    ).scalars()
    count = 0
    for user in users:
        if user.id in skip_ids:
            continue
        if notify(user.id, "mention", f"{actor.username} mentioned you in “{thread.title}”",
                  url, actor_id=actor.id, thread_id=thread.id, post_id=post.id):
            count += 1
    return count


def mentioned_ids(text: str) -> set[int]:
    """Ids of the existing users @mentioned in ``text`` (not inside code)."""
    names = mentioned_usernames(text)
    if not names:
        return set()
    return set(db.session.execute(select(User.id).where(func.lower(User.username).in_(names))).scalars())


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
