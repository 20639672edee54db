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
    """Notify ``user_id`` unless they caused the event themselves."""
    if user_id is None or user_id == actor_id:
        return None
    note = Notification(user_id=user_id, kind=kind, message=message[:300], url=url[:300],
                        actor_id=actor_id, thread_id=thread_id, post_id=post_id)
    db.session.add(note)
    return note


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
