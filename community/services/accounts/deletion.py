"""Deleting an account: the posts stay for the community, the person goes.

The ``users`` row is kept, emptied of everything personal, so that every post, vote,
idea and reputation row still points at a row (other members' totals and the ledger
are unchanged, threads keep their answers) and pages show the author as "deleted user".
What is removed: profile fields, the avatar (its upload row and file), email address, password, single sign-on
identity, API tokens, reset links, notifications, preferences, subscriptions, follows,
mail waiting in the outbox, and the name and address on support tickets.  Ask sessions
(what the member typed while searching) are detached from the account.

Callers check ``permissions.can_delete_account`` and commit; the audit log records who
deleted whom (the member themselves, or a moderator on their request).
"""
from __future__ import annotations

import secrets

from sqlalchemy import delete, select, update

from ...extensions import db
from ...models import (
    ApiToken,
    AskSession,
    CategorySubscription,
    IdeaFollow,
    Notification,
    NotificationPreference,
    OutboxMessage,
    PasswordReset,
    TagSubscription,
    ThreadSubscription,
    Ticket,
    Upload,
    User,
    utcnow,
)
from ..errors import Conflict, ValidationError
from ..locking import lock
from ..moderation import audit
from . import passwords
from .users import hash_password

DELETED_EMAIL_DOMAIN = "deleted.invalid"
#: Rows that exist only for the member: removed with the account.
OWN_ROWS = ((ApiToken, ApiToken.user_id), (PasswordReset, PasswordReset.user_id),
            (Notification, Notification.user_id), (NotificationPreference, NotificationPreference.user_id),
            (ThreadSubscription, ThreadSubscription.user_id), (CategorySubscription, CategorySubscription.user_id),
            (TagSubscription, TagSubscription.user_id), (IdeaFollow, IdeaFollow.user_id))


def check_confirmation(user: User, *, password: str, typed_username: str) -> None:
    """The member's own deletion asks for their username typed out, and their password unless
    they sign in through single sign-on only (their local password is random and unknown)."""
    if (typed_username or "").strip().lower() != user.username.lower():
        raise ValidationError("Type your username exactly to confirm.", field="confirm_username")
    if user.oidc_subject is None and not passwords.matches(user.password_hash, password):
        raise ValidationError("Your password is not right.", field="password")


def delete_account(actor: User, user: User, *, note: str | None = None) -> User:
    """Anonymise ``user`` (see the module docstring); deleting twice is a ``Conflict``."""
    lock(User, user.id)
    db.session.refresh(user)
    if user.deleted_at is not None:
        raise Conflict("This account was already deleted.")
    before = {"username": user.username, "role": user.role}
    _remove_avatar(user)
    _remove_own_rows(user)
    _scrub_profile(user)
    db.session.flush()
    audit.record(actor, "user.delete", "user", user.id, before=before,
                 after={"username": user.username},
                 note=note or ("deleted by the member" if actor.id == user.id else None))
    return user


def _remove_own_rows(user: User) -> None:
    for model, column in OWN_ROWS:
        db.session.execute(delete(model).where(column == user.id).execution_options(synchronize_session=False))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id,
                                                   OutboxMessage.sent_at.is_(None))
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Ticket).where(Ticket.requester_id == user.id)
                       .values(requester_name=None, requester_email=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(AskSession).where(AskSession.user_id == user.id).values(user_id=None)
                       .execution_options(synchronize_session=False))
    # Images stay where posts show them; only the name the member gave the file goes.
    db.session.execute(update(Upload).where(Upload.user_id == user.id).values(original_name="")
                       .execution_options(synchronize_session=False))


def _remove_avatar(user: User) -> None:
    """The avatar is a picture of the person, not a post's: its row goes (so ``/uploads/`` stops
    serving it) and its file too unless another member stored the same picture."""
    from ..uploads import storage

    if not user.avatar:
        return
    sha, _, ext = user.avatar.partition(".")
    db.session.execute(delete(Upload).where(Upload.user_id == user.id, Upload.sha256 == sha, Upload.ext == ext)
                       .execution_options(synchronize_session=False))
    if db.session.execute(select(Upload.id).where(Upload.sha256 == sha).limit(1)).first() is None:
        storage.delete(user.avatar)


def _scrub_profile(user: User) -> None:
    user.username = f"deleted-{user.id}"
    user.email = f"deleted-{user.id}@{DELETED_EMAIL_DOMAIN}"
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.display_name = user.location = user.website = user.avatar = None
    user.about = user.about_html = ""
    user.oidc_issuer = user.oidc_subject = None
    user.suspended_until = user.suspension_reason = None
    user.last_seen_at = user.digest_sent_at = None
    user.role = "member"
    user.session_version = User.session_version + 1   # every session and remember-me cookie ends
    user.deleted_at = utcnow()

