"""Accounts: registration, passwords, API tokens, profile statistics."""
from __future__ import annotations

import hashlib
import re
import secrets

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ...extensions import db
from ...models import ROLES, ApiToken, Post, Thread, User, utcnow
from ..errors import Conflict, NotFound, ValidationError

USERNAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_]$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def create_user(username: str, email: str, password: str, role: str = "member") -> User:
    username = (username or "").strip()
    email = (email or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationError("Usernames are 3–40 letters, digits, '_', '.' or '-'.", field="username")
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError("Enter a valid email address.", field="email")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"Passwords must be at least {MIN_PASSWORD} characters.", field="password")
    if role not in ROLES:
        raise ValidationError(f"Role must be one of: {', '.join(ROLES)}.", field="role")
    if db.session.execute(select(User.id).where(func.lower(User.username) == username.lower())).first():
        raise Conflict("That username is taken.", field="username")
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict("An account with that email already exists.", field="email")
    user = User(username=username, email=email, role=role, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def register(username: str, email: str, password: str) -> User:
    """Sign-up: the whole password policy (``passwords.validate``), then ``create_user``."""
    from . import passwords

    passwords.validate(password, username=username, email=email)
    return create_user(username, email, password)


def hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD")
    return generate_password_hash(password, method=method) if method else generate_password_hash(password)


def find_by_login(login: str) -> User | None:
    """The account a typed username or email names (case and surrounding spaces ignored)."""
    login = (login or "").strip().lower()
    if not login:
        return None
    return db.session.execute(
        select(User).where((func.lower(User.username) == login) | (User.email == login))
    ).scalar()


def login_throttle_key(login: str) -> str:
    """One rate-limit bucket per account, however its name is typed (``Mem1 ``,
    ``mem1@example.test``); a name that is no account gets the bucket of the name."""
    user = find_by_login(login)
    return f"account:{user.id}" if user is not None else "account-name:" + " ".join((login or "").split()).lower()


def authenticate(login: str, password: str) -> User | None:
    user = find_by_login(login)
    if user is None:
        check_password_hash(hash_password("timing"), password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def get_by_username(username: str) -> User:
    user = db.session.execute(
        select(User).where(func.lower(User.username) == (username or "").lower())
    ).scalar()
    if user is None:
        raise NotFound("No such user.")
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str = "cli") -> str:
    """Create an API token; the plain value is returned once and only its hash is stored."""
    token = "cst_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), name=name[:80]))
    return token


#: A token's ``last_used_at`` is written at most this often (a busy client does not write on every call).
TOKEN_TOUCH_SECONDS = 60


def user_for_token(token: str) -> tuple[User | None, bool]:
    """The owner of a live token (read with it, one statement) and whether its use was recorded
    (at most once a minute: then the caller commits; otherwise there is nothing to commit)."""
    found = db.session.execute(
        select(ApiToken.id, ApiToken.last_used_at, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if found is None:
        return None, False
    token_id, last_used_at, user = found
    now = utcnow()
    if last_used_at is None or (now - last_used_at).total_seconds() > TOKEN_TOUCH_SECONDS:
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
                           .execution_options(synchronize_session=False))
        return user, True
    return user, False


def profile_stats(user: User) -> dict:
    """Counts shown on profiles and in the API, in three small queries."""
    questions = db.session.execute(
        select(func.count()).select_from(Thread)
        .where(Thread.author_id == user.id, Thread.deleted.is_(False), Thread.hidden.is_(False))
    ).scalar_one()
    answers = db.session.execute(
        select(func.count()).select_from(Post)
        .where(Post.author_id == user.id, Post.is_question.is_(False), Post.visible)
    ).scalar_one()
    accepted = db.session.execute(
        select(func.count()).select_from(Thread).join(Post, Post.id == Thread.accepted_post_id)
        .where(Post.author_id == user.id, Thread.deleted.is_(False))
    ).scalar_one()
    return {"questions": questions, "answers": answers, "accepted_answers": accepted}


def recent_posts(user: User, limit: int = 10):
    from sqlalchemy.orm import selectinload

    return list(db.session.execute(
        select(Post).options(selectinload(Post.thread))
        .join(Thread, Thread.id == Post.thread_id)
        .where(Post.author_id == user.id, Post.visible,
               Thread.deleted.is_(False), Thread.hidden.is_(False))
        .order_by(Post.created_at.desc()).limit(limit)
    ).scalars())


def touch_last_seen(user: User) -> None:
    now = utcnow()
    if user.last_seen_at is None or (now - user.last_seen_at).total_seconds() > 300:
        user.last_seen_at = now
