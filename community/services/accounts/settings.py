"""A member's own settings: profile, password, email address, API tokens.

Every function changes the session's objects and never commits; the view
commits once.  Permission is ownership: callers pass the signed-in user.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from ...extensions import db
from ...markup import render_markdown
from ...models import ApiToken, User, utcnow
from ...urls import absolute_url
from ..errors import Conflict, NotFound, ValidationError
from ..locking import lock
from . import passwords
from .users import EMAIL_RE, hash_password, issue_token

ABOUT_MAX = 5000
DISPLAY_NAME_MAX = 80
LOCATION_MAX = 100
WEBSITE_MAX = 200
TOKEN_NAME_MAX = 80
EMAIL_CHANGE_SALT = "email-change-v1"


# -- profile ---------------------------------------------------------------------------

def clean_website(value: str) -> str | None:
    """An absolute http(s) URL with a host, or None for an empty field; anything else is refused."""
    value = (value or "").strip()
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname \
            or any(ch.isspace() or ord(ch) < 0x20 for ch in value) or len(value) > WEBSITE_MAX:
        raise ValidationError(f"Enter a web address such as https://example.com (at most {WEBSITE_MAX} "
                              "characters).", field="website")
    return value


def _limited(value: str, limit: int, field: str, label: str) -> str | None:
    value = " ".join((value or "").split())
    if len(value) > limit:
        raise ValidationError(f"{label} can be at most {limit} characters.", field=field)
    return value or None


def update_profile(user: User, *, display_name: str, about: str, location: str, website: str) -> User:
    """Store the profile fields; the about text is kept as Markdown and as sanitized HTML."""
    about = (about or "").strip()
    if len(about) > ABOUT_MAX:
        raise ValidationError(f"About can be at most {ABOUT_MAX:,} characters.", field="about")
    user.display_name = _limited(display_name, DISPLAY_NAME_MAX, "display_name", "Display name")
    user.location = _limited(location, LOCATION_MAX, "location", "Location")
    user.website = clean_website(website)
    user.about = about
    user.about_html = render_markdown(about) if about else ""
    return user


def change_username(user: User, wanted: str) -> User:
    """A username derived at the first single sign-on, changed once by its member (then fixed, so
    links to the profile and @mentions stay stable).  Case-insensitively unique, under the row lock."""
    from ..errors import PermissionDenied
    from .users import USERNAME_RE

    wanted = (wanted or "").strip()
    lock(User, user.id)
    db.session.refresh(user)
    if not user.username_changeable:
        raise PermissionDenied("Your username cannot be changed (it can be changed once, after a first "
                               "company sign-in).")
    if not USERNAME_RE.match(wanted):
        raise ValidationError("Usernames are 3–40 letters, digits, '_', '.' or '-'.", field="username")
    if wanted != user.username and db.session.execute(
            select(User.id).where(func.lower(User.username) == wanted.lower(), User.id != user.id)).first():
        raise Conflict("That username is taken.", field="username")
    user.username, user.username_changeable = wanted, False
    db.session.flush()
    return user


def set_avatar(user: User, raw: bytes) -> User:
    """Store ``raw`` as the member's avatar: the upload rules, then a square re-encoded by Pillow
    (``uploads.store.store_avatar``).  The old picture stays stored (posts may show it)."""
    from ..uploads import store

    user.avatar = store.store_avatar(user, raw).filename
    return user


def remove_avatar(user: User) -> User:
    """Back to the generated avatar (the initial on a colour of the member's own)."""
    user.avatar = None
    return user


# -- password --------------------------------------------------------------------------

def set_password(user: User, new: str, *, confirm: str | None = None) -> User:
    """Apply the password rules, store the new hash and end every session of the user.

    Bumping ``session_version`` changes ``User.get_id()``, which flask-login keeps in the
    session and in the "remember me" cookie: every old session and cookie stops matching
    (``load_user``).  The caller signs the current browser in again if it should stay.
    """
    if confirm is not None and new != confirm:
        raise ValidationError("The two new passwords do not match.", field="confirm")
    passwords.validate(new, username=user.username, email=user.email, field="new")
    lock(User, user.id)
    user.password_hash = hash_password(new)
    return end_every_session(user)


def end_every_session(user: User) -> User:
    """Move ``session_version`` on: every session and "remember me" cookie of the user stops
    matching (``load_user``), this browser's too, so the caller signs it in again if it stays.

    One atomic increment in the database, so two requests at once both end everything before them
    and neither is lost; the new value is read back for ``User.get_id()``.
    """
    user.session_version = User.session_version + 1
    db.session.flush()
    db.session.refresh(user, ["session_version"])
    return user


def change_password(user: User, current: str, new: str, confirm: str) -> User:
    """The settings form: the current password first, then ``set_password``."""
    if not passwords.matches(user.password_hash, current):
        raise ValidationError("Your current password is not right.", field="current")
    passwords.validate(new, username=user.username, email=user.email, field="new")
    if new == current:
        raise ValidationError("The new password is the one you have now.", field="new")
    return set_password(user, new, confirm=confirm)


# -- email -----------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=EMAIL_CHANGE_SALT)


def email_change_token(user: User, new_email: str) -> str:
    """Signed: the user, the address it replaces (so a used link dies) and the new one."""
    return _serializer().dumps({"u": user.id, "old": user.email, "new": new_email})


def request_email_change(user: User, password: str, new_email: str):
    """Check the password and the address, then queue the confirmation link to the new address.

    The address changes only when the link is followed (``confirm_email_change``);
    the old address gets a notice, so that a stolen session cannot move the account quietly.
    """
    from ..mail import messages

    new_email = (new_email or "").strip().lower()
    if not passwords.matches(user.password_hash, password):
        raise ValidationError("Your password is not right.", field="password")
    if not EMAIL_RE.match(new_email) or len(new_email) > 254:
        raise ValidationError("Enter a valid email address.", field="email")
    if new_email == user.email:
        raise ValidationError("That is already your address.", field="email")
    if _email_taken(new_email, user.id):
        raise Conflict("Another account uses that address.", field="email")
    link = absolute_url(f"/settings/email/confirm/{email_change_token(user, new_email)}")
    hours = current_app.config["EMAIL_CHANGE_MAX_AGE_HOURS"]
    messages.queue("email_change_confirm", to=new_email, user=user, link=link, hours=hours,
                   new_email=new_email)
    messages.queue("email_change_notice", to=user.email, user=user, new_email=new_email,
                   settings_url=absolute_url("/settings/password"))
    return new_email


def _email_taken(email: str, user_id: int) -> bool:
    return db.session.execute(
        select(User.id).where(func.lower(User.email) == email, User.id != user_id)).first() is not None


def read_email_change(token: str) -> tuple[User, str]:
    """The user and new address of a valid, unused, unexpired link; ``ValidationError`` otherwise."""
    max_age = int(current_app.config["EMAIL_CHANGE_MAX_AGE_HOURS"] * 3600)
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ValidationError("This confirmation link has expired. Ask for a new one in your settings.",
                              field="token") from None
    except BadSignature:
        raise ValidationError("This confirmation link is not valid.", field="token") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.email != data.get("old"):
        raise ValidationError("This confirmation link was already used or replaced.", field="token")
    return user, data["new"]


def confirm_email_change(token: str) -> User:
    """Change the address (under a row lock, so one link works once)."""
    user, new_email = read_email_change(token)
    lock(User, user.id)
    user, new_email = read_email_change(token)
    if _email_taken(new_email, user.id):
        raise Conflict("Another account took that address meanwhile.", field="email")
    user.email = new_email
    db.session.flush()
    return user


# -- API tokens ------------------------------------------------------------------------

def tokens_of(user: User):
    """Statement: the user's live tokens, newest first."""
    return (select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id.desc()))


def create_token(user: User, name: str) -> str:
    """A new named token; its value is returned once and never stored."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Give the token a name, such as the script that will use it.", field="name")
    if len(name) > TOKEN_NAME_MAX:
        raise ValidationError(f"Token names can be at most {TOKEN_NAME_MAX} characters.", field="name")
    return issue_token(user, name)


def own_token(user: User, token_id: int) -> ApiToken:
    """One of the user's own tokens; someone else's or an unknown id is ``NotFound``."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token.")
    return token


def revoke_token(token: ApiToken) -> ApiToken:
    """Revoke a token (the caller checked it is the member's own, ``own_token``).
    Revoking twice is answered with the token as it is (idempotent)."""
    db.session.execute(update(ApiToken).where(ApiToken.id == token.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(token)
    return token
