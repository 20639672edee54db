"""One-click accept from the reminder mail: a signed link per answer that the asker opens
without signing in.

The link (``/accept/<token>``, ``itsdangerous`` with ``SECRET_KEY``, salt ``accept-answer-v1``)
names the asker, the thread, the answer and a nonce shared by every link of one mail.  It
works for ``ACCEPT_LINK_MAX_AGE_DAYS`` and once: using it stores the nonce in ``spent_links``
(primary key), so after one answer is accepted from a mail its other links are spent too (the
asker changes their mind on the thread page, signed in).  Opening it (GET) changes nothing:
the page shows the answer and a button that POSTs (mail scanners and link previews open links).

``accept(token)`` re-checks everything at the moment of use: the asker still owns the thread
and may accept (``permissions.can_accept``: not suspended, not deleted), the thread and the
answer are still visible.  The accept itself is ``forum.accepting.accept`` (reputation, the
notification, row locks), as from the thread page.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from ... import permissions
from ...extensions import db
from ...models import Post, SpentLink, Thread, User
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError

SALT = "accept-answer-v1"
SPENT = "This link was used already: change the accepted answer on the thread page."


@dataclass(frozen=True)
class AcceptLink:
    user: User
    thread: Thread
    post: Post
    nonce: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def new_nonce() -> str:
    """One per reminder mail: every link in it shares it, so one use spends them all."""
    return secrets.token_hex(12)


def token(user_id: int, thread_id: int, post_id: int, nonce: str) -> str:
    return _serializer().dumps([user_id, thread_id, post_id, nonce])


def read(value: str) -> AcceptLink:
    """What a link names, checked for use now: ``ValidationError`` (forged, expired), ``Conflict``
    (spent), ``NotFound`` (thread or answer gone) or ``PermissionDenied`` (not the asker's to accept)."""
    max_age = int(current_app.config["ACCEPT_LINK_MAX_AGE_DAYS"] * 86400)
    try:
        data = _serializer().loads(value, max_age=max_age)
    except SignatureExpired:
        raise ValidationError("This link has expired: accept the answer on the thread page instead.",
                              field="token") from None
    except BadSignature:
        raise ValidationError("This link is not valid.", field="token") from None
    if not (isinstance(data, list) and len(data) == 4 and all(isinstance(v, int) for v in data[:3])
            and isinstance(data[3], str)):
        raise ValidationError("This link is not valid.", field="token")
    user_id, thread_id, post_id, nonce = data
    if db.session.get(SpentLink, _key(nonce)) is not None:
        raise Conflict(SPENT, field="token")
    user, thread, post = db.session.get(User, user_id), db.session.get(Thread, thread_id), db.session.get(Post, post_id)
    if thread is None or not thread.visible or post is None or post.thread_id != thread.id or not post.visible:
        raise NotFound("This thread or this answer is no longer there.")
    if user is None or user.id != thread.author_id or not permissions.can_accept(user, thread):
        raise PermissionDenied("This link cannot accept an answer any more (the account cannot accept here).")
    return AcceptLink(user, thread, post, nonce)


def accept(value: str) -> AcceptLink:
    """Spend the link and accept its answer as its asker (the caller commits).  The nonce's
    insert runs in a savepoint: a concurrent use that committed first makes this one a
    ``Conflict`` (PostgreSQL waits on the primary key for it; SQLite's writers are serialized)."""
    from ..forum import accepting

    link = read(value)
    try:
        with db.session.begin_nested():
            db.session.add(SpentLink(key=_key(link.nonce)))
            db.session.flush()
    except IntegrityError:
        raise Conflict(SPENT, field="token") from None
    accepting.accept(link.user, link.thread, link.post)
    return link


def _key(nonce: str) -> str:
    return f"accept:{nonce}"
