"""Rate limits named in configuration, shared by pages and the API.

Counters are shared by every worker process: in Redis when ``REDIS_URL`` is set,
otherwise in a SQLite file in the instance folder (``ratelimit_storage.py``), so a
limit holds across ``gunicorn -w 4`` on one machine.  ``RATELIMIT_STORAGE_URI``
overrides both (``memory://`` is per process: tests only).
"""
from __future__ import annotations

from functools import wraps

from flask import current_app, request
from flask_login import current_user
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from . import ratelimit_storage  # noqa: F401  (the sqlite:// scheme)
from .services.errors import RateLimited


def identity() -> str:
    """Logged-in (or token) user if any, else the client address."""
    from flask import g

    user = g.get("api_user") or (current_user if current_user and current_user.is_authenticated else None)
    if user is not None and getattr(user, "id", None):
        return f"user:{user.id}"
    return f"ip:{request.remote_addr or 'unknown'}"


def hit(config_key: str, key: str | None = None, message: str | None = None) -> None:
    """Count one hit against the limits in ``config[config_key]``; 429 when exceeded."""
    _enforce(config_key, key, message, count=True)


def check(config_key: str, key: str | None = None, message: str | None = None) -> None:
    """429 if the limits in ``config[config_key]`` are already used up, without counting a hit.

    For limits counted only on some outcomes (failed sign-ups): check first,
    ``hit`` once the outcome is known.
    """
    _enforce(config_key, key, message, count=False)


def _enforce(config_key: str, key: str | None, message: str | None, *, count: bool) -> None:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    spec = current_app.config.get(config_key)
    if not spec:
        return
    strategy = _strategy()
    allowed = strategy.hit if count else strategy.test
    for item in parse_many(spec):
        if not allowed(item, config_key, key or identity()):
            raise RateLimited(message or f"Too many attempts: the limit is {item}. Please wait and try again.")


def _strategy():
    """This app's counters (memory, or Redis with ``REDIS_URL``), made on first use.

    Kept per app rather than borrowed from Flask-Limiter's single global
    object, which has no storage when the app starts with limits disabled
    and is shared by every app created in the process.
    """
    strategy = current_app.extensions.get("community_ratelimit")
    if strategy is None:
        uri = current_app.config["RATELIMIT_STORAGE_URI"]  # set by create_app
        options = {"key_prefix": f"{current_app.config['REDIS_KEY_PREFIX']}:limits"} \
            if uri.startswith(("redis://", "rediss://")) else {}
        strategy = MovingWindowRateLimiter(storage_from_string(uri, **options))
        current_app.extensions["community_ratelimit"] = strategy
    return strategy


def limit(config_key: str, key_func=None):
    """Decorator form of ``hit`` for views and API endpoints."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            hit(config_key, key_func() if key_func else None)
            return view(*args, **kwargs)

        return wrapped

    return decorator
