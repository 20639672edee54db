"""Limits on new accounts: links per post and posts per hour.

An account is *new* while it is younger than ``NEW_ACCOUNT_DAYS`` days or
has less than ``NEW_ACCOUNT_REPUTATION`` reputation; staff never are.  New
accounts may put at most ``NEW_ACCOUNT_LINKS_PER_POST`` links in a post and
publish at most ``NEW_ACCOUNT_POSTS_PER_HOUR`` posts (questions and answers
together) in any hour.  A limit set to ``None`` is off.

``check_new_content`` is called by ``forum.create_thread`` and
``forum.add_reply``, the one path every question and answer takes (pages,
API, anything later), so the rule cannot be bypassed.  Content written with
an explicit ``created_at`` (imports, demo seeding) is not live posting and
is not checked.  Posts per hour is a rate limit, so like the others it is
off when ``RATELIMIT_ENABLED`` is false.
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ...extensions import db
from ...models import STAFF_ROLES, Post, utcnow
from ..errors import RateLimited, ValidationError

#: http(s) URLs and bare ``www.`` hosts; Markdown links and images count once each.
LINK_RE = re.compile(r"(?i)(?:\bhttps?://|(?<![/\w.@-])www\.)[^\s<>()\[\]\"']+")


def count_links(text: str) -> int:
    return len(LINK_RE.findall(text or ""))


def is_new_account(user) -> bool:
    if user is None or user.role in STAFF_ROLES:
        return False
    config = current_app.config
    young = user.created_at is not None and (
        utcnow() - user.created_at < timedelta(days=config["NEW_ACCOUNT_DAYS"]))
    return young or user.reputation < config["NEW_ACCOUNT_REPUTATION"]


def check_new_content(author, body: str, *, field: str = "body") -> None:
    """Raise if a new account's post breaks a limit; a no-op for everyone else."""
    if not is_new_account(author):
        return
    config = current_app.config
    max_links = config.get("NEW_ACCOUNT_LINKS_PER_POST")
    if max_links is not None:
        links = count_links(body)
        if links > max_links:
            allowed = "no links" if max_links == 0 else f"at most {max_links} link{'s' if max_links != 1 else ''}"
            raise ValidationError(
                f"New accounts may include {allowed} per post (this one has {links}). "
                f"The limit lifts at {config['NEW_ACCOUNT_REPUTATION']} reputation and "
                f"{config['NEW_ACCOUNT_DAYS']} days of membership.", field=field)
    per_hour = config.get("NEW_ACCOUNT_POSTS_PER_HOUR")
    if per_hour is not None and config.get("RATELIMIT_ENABLED", True):
        since = utcnow() - timedelta(hours=1)
        recent, oldest = db.session.execute(
            select(func.count(Post.id), func.min(Post.created_at))
            .where(Post.author_id == author.id, Post.created_at > since)
        ).one()
        if recent >= per_hour:
            wait = max(1, int(((oldest + timedelta(hours=1)) - utcnow()).total_seconds() // 60) + 1)
            raise RateLimited(
                f"New accounts may post {per_hour} time{'s' if per_hour != 1 else ''} per hour. "
                f"Please try again in {wait} minute{'s' if wait != 1 else ''}.")
