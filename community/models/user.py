"""Accounts, roles and API tokens."""
from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

ROLES = ("member", "moderator", "agent", "product", "admin")
STAFF_ROLES = ("moderator", "agent", "product", "admin")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    #: One account per identity at a provider (single sign-on, services/accounts/sso.py).
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="member")
    #: Sum of the user's reputation ledger; the shown total is derived from it.
    reputation_points: Mapped[int] = mapped_column(default=0)
    #: The daily cap's counter: the latest ``cap_day`` of the user's ledger rows and the sum of
    #: their points on it (``reputation.award`` reads it under the user's lock instead of summing
    #: that day's rows; ``flask check``'s ``cap_counter``).
    cap_day: Mapped[date | None]
    cap_points: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Shown beside the username where set (profile, settings); the username stays the handle.
    display_name: Mapped[str | None] = mapped_column(String(80))
    about: Mapped[str] = mapped_column(Text, default="")
    about_html: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str | None] = mapped_column(String(100))
    #: An http(s) URL, linked with rel="nofollow ugc".
    website: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    suspended_until: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(String(500))
    #: Bumped on password change so that remembered sessions die with it.
    session_version: Mapped[int] = mapped_column(default=1)
    #: The OpenID provider and its ``sub`` for this person, set at the first single sign-on.
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    #: When the last daily digest was built for the user (``flask mail digest``).
    digest_sent_at: Mapped[datetime | None]
    #: A username derived at the first single sign-on may be changed once (then False).
    username_changeable: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The level a thread gets when the member asks or answers in it (watching, tracking; None: none).
    auto_watch: Mapped[str | None] = mapped_column(String(20), default="watching", server_default="watching")
    #: The avatar's stored file (``uploads``, a square re-encoded by Pillow); None: a generated one.
    avatar: Mapped[str | None] = mapped_column(String(80))
    #: Set when the account was deleted: its personal data is gone, its posts stay as "deleted user"
    #: (``services/accounts/deletion.py``).
    deleted_at: Mapped[datetime | None]

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def reputation(self) -> int:
        """Reputation never goes below 1 (a new account starts at 1)."""
        return max(1, 1 + (self.reputation_points or 0))

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def shown_name(self) -> str:
        """What pages call the person: "deleted user" once the account is gone, else the username."""
        return "deleted user" if self.deleted_at is not None else self.username

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > utcnow()

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_token_hash", "token_hash", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(80), default="cli")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class PasswordReset(db.Model):
    """A password-reset link: only the token's SHA-256 is stored; used once, within its hour."""

    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_token_hash", "token_hash", unique=True),
                      Index("ix_password_resets_user_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    #: The address the request came from (shown in the mail: "asked from ...").
    requested_ip: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User] = relationship()
