"""The daily digest (``flask --app community mail digest``, run daily from cron).

One mail per member listing their unread notifications since their last digest
(at most a day back) whose kind they chose to get "in the daily digest".
Nothing is sent to a member with nothing new.  Each member's digest is claimed
with a conditional UPDATE of ``users.digest_sent_at``, so two runs at once
queue it once.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import or_, select, update

from ...extensions import db, write_intent
from ...models import EMAIL_KIND_OF, Notification, User, utcnow
from ...urls import absolute_url
from ..accounts import preferences
from . import messages
from .notify import unsubscribe_headers

WINDOW = timedelta(days=1)


def _claim(user: User, now) -> bool:
    previous = user.digest_sent_at
    condition = User.digest_sent_at.is_(None) if previous is None else User.digest_sent_at == previous
    return db.session.execute(update(User).where(User.id == user.id, condition).values(digest_sent_at=now)
                              .execution_options(synchronize_session=False)).rowcount == 1


def build(now=None) -> dict:
    """Queue today's digests; returns ``{"digests": n, "items": m}``.  Commits per member."""
    now = now or utcnow()
    notes = db.session.execute(
        select(Notification).where(Notification.read_at.is_(None), Notification.created_at > now - WINDOW,
                                   Notification.created_at <= now,
                                   Notification.kind.in_(list(EMAIL_KIND_OF)))
        .order_by(Notification.user_id, Notification.id)).scalars().all()
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for note in notes:
        by_user[note.user_id].append(note)
    counts = {"digests": 0, "items": 0}
    for user_id, items in by_user.items():
        with write_intent():
            user = db.session.get(User, user_id)
            since = user.digest_sent_at or (now - WINDOW)
            choice = preferences.choices(user_id)
            wanted = [n for n in items if n.created_at > since and choice[EMAIL_KIND_OF[n.kind]] == "digest"]
            if not wanted or not _claim(user, now):
                db.session.rollback()
                continue
            unsubscribe_url = absolute_url(f"/unsubscribe/{preferences.unsubscribe_token(user_id, 'digest')}")
            messages.queue("digest", to=user.email, user=user, count=len(wanted),
                           items=[{"message": n.message, "link": absolute_url(n.url)} for n in wanted],
                           unsubscribe_url=unsubscribe_url, settings_url=absolute_url("/settings/notifications"),
                           headers=unsubscribe_headers(unsubscribe_url))
            db.session.commit()
        counts["digests"] += 1
        counts["items"] += len(wanted)
    return counts
