"""Notifications by email: the preference decides (at once, in the digest, never), throttled.

``email_for(note)`` runs in the transaction of the event (called by
``services/notifications.notify``).  Every mail carries a one-click
unsubscribe for its kind (RFC 8058 headers and a footer link), and a
``Reply-To`` address that posts an answer by email (``services/mail/inbound.py``).

Throttling (``MAIL_THREAD_INTERVAL_MINUTES``, ``MAIL_DAILY_LIMIT_PER_USER``):
one mail per thread per interval per person.  A notification that comes
sooner joins the mail already waiting for that thread and person, or starts one
that waits until the interval since the last has passed, so later posts are
batched into the next mail.  Past the daily ceiling nothing more is emailed
that day (the notifications stay in-app).
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ...extensions import db
from ...models import EMAIL_KIND_OF, OutboxMessage, User, utcnow
from ...urls import absolute_url
from ..accounts import preferences
from ..locking import advisory
from . import messages
from .messages import CHANNEL

#: Every notification mail has a throttle key ``notify:<user>[:thread:<thread>]``; the daily
#: ceiling counts them, the per-thread interval reads those with a thread.
KEY_PREFIX = "notify:"


def unsubscribe_headers(url: str) -> dict:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def email_for(note, details: dict | None = None, *, choice: str | None = None) -> bool:
    """Queue (or batch) the mail for an in-app notification if its kind is emailed at once;
    True if the notification is in a mail.  ``details`` (the answers of an accept reminder)
    go to the template; ``choice``: the member's ``email_choice`` for the kind, when the caller
    read it already."""
    kind = EMAIL_KIND_OF.get(note.kind)
    if kind is None or (choice or preferences.email_choice(note.user_id, kind)) != "immediately":
        return False
    user = db.session.get(User, note.user_id)
    if user is None or user.deleted_at is not None:
        return False
    key = f"{KEY_PREFIX}{user.id}:thread:{note.thread_id}" if note.thread_id else f"{KEY_PREFIX}{user.id}"
    if note.thread_id:
        # One mail decision at a time per thread (the batch holds).  One lock for the whole
        # thread, not one per person: a fan-out tells its people in its own order (the asker,
        # the @mentioned, the watchers), so two fan-outs of one thread took per-person locks in
        # crossing orders, a deadlock (services/locking.py, "Lock order").
        advisory(f"{KEY_PREFIX}thread:{note.thread_id}")
    item = {"message": note.message, "link": absolute_url(note.url), **(details or {})}
    waiting = _waiting(key) if note.thread_id else None
    if waiting is not None:
        _add_to(waiting, user, kind, item, note.thread_id)
        return True
    if _sent_today(user.id) >= current_app.config["MAIL_DAILY_LIMIT_PER_USER"]:
        return False
    available_at = _next_slot(key) if note.thread_id else utcnow()   # before this mail is flushed
    message = messages.queue("notification", **_context(user, kind, [item], note.thread_id))
    message.payload = {**message.payload, "items": [item], "kind": kind, "thread_id": note.thread_id,
                       "secret": messages.holds_accept_links([item])}
    message.throttle_key, message.available_at = key, available_at
    return True


def _context(user: User, kind: str, items: list[dict], thread_id: int | None) -> dict:
    """What the notification template needs for one mail of one or more items."""
    from . import inbound

    unsubscribe_url = absolute_url(f"/unsubscribe/{preferences.unsubscribe_token(user.id, kind)}")
    headers = unsubscribe_headers(unsubscribe_url)
    if thread_id is not None and inbound.reply_address(user.id, thread_id):
        headers["Reply-To"] = inbound.reply_address(user.id, thread_id)
    subject = items[0]["message"] if len(items) == 1 else f"{len(items)} new posts: {items[-1]['message']}"
    return {"to": user.email, "user": user, "subject": subject, "message": items[0]["message"],
            "link": items[0]["link"], "items": items, "kind": kind, "unsubscribe_url": unsubscribe_url,
            "kind_label": preferences.LABELS[kind], "settings_url": absolute_url("/settings/notifications"),
            "headers": headers, "reply_by_email": "Reply-To" in headers}


def _waiting(key: str) -> OutboxMessage | None:
    """The mail for this thread and person that waits for its slot (not yet tried), if any."""
    return db.session.execute(
        select(OutboxMessage).where(OutboxMessage.throttle_key == key, OutboxMessage.channel == CHANNEL,
                                    OutboxMessage.sent_at.is_(None), OutboxMessage.claimed_by.is_(None),
                                    OutboxMessage.attempts == 0, OutboxMessage.available_at > utcnow())
        .order_by(OutboxMessage.id.desc()).limit(1).with_for_update()).scalar()


def _add_to(message: OutboxMessage, user: User, kind: str, item: dict, thread_id: int | None) -> None:
    """Batch one more notification into a waiting mail: the item is added, the mail is rendered
    again once, when it is sent (``rendered``), not for every item."""
    items = [*message.payload.get("items", []), item]
    message.payload = {**message.payload, "items": items, "kind": message.payload.get("kind", kind),
                       "thread_id": thread_id, STALE: True, "secret": messages.holds_accept_links(items)}


#: Payload flag: items were added since the mail was rendered (``rendered`` brings it up to date).
STALE = "render_when_sent"


def rendered(payload: dict) -> dict | None:
    """The payload of a batched mail rendered with all its items (the worker calls it before
    sending); None when its member is gone.  A payload rendered already is returned as it is."""
    if not payload.get(STALE):
        return payload
    user = db.session.get(User, payload.get("user_id"))
    if user is None or user.deleted_at is not None:
        return None
    context = _context(user, payload["kind"], payload["items"], payload.get("thread_id"))
    fresh = messages.payload_for("notification", **context)
    return {**fresh, "message_id": payload["message_id"], "items": payload["items"], "kind": payload["kind"],
            "thread_id": payload.get("thread_id"), "secret": messages.holds_accept_links(payload["items"])}


def _next_slot(key: str):
    """Now, or the interval after this thread's last mail to this person when that is later."""
    now = utcnow()
    last = db.session.execute(select(func.max(OutboxMessage.available_at))
                              .where(OutboxMessage.throttle_key == key)).scalar()
    interval = timedelta(minutes=current_app.config["MAIL_THREAD_INTERVAL_MINUTES"])
    return max(now, last + interval) if last is not None else now


def _sent_today(user_id: int) -> int:
    """Notification mails queued for this person in the last 24 hours (the daily ceiling)."""
    return db.session.execute(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.channel == CHANNEL,
               OutboxMessage.throttle_key.startswith(KEY_PREFIX, autoescape=True),
               OutboxMessage.created_at >= utcnow() - timedelta(days=1))).scalar_one()
