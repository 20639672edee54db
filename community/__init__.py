"""Support community: peer-to-peer Q&A, ideas, search-before-you-post and deflection metrics."""
from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Application factory; ``config`` overrides everything else (tests use it)."""
    # The instance folder is fixed at construction: app.config reads
    # instance/config.py relative to it, so an override must be passed here.
    instance = (config or {}).get("INSTANCE_PATH") or Path(__file__).resolve().parent.parent / "instance"
    app = Flask(__name__, instance_relative_config=True, instance_path=str(instance))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from .config import load_config

    load_config(app, config)
    from . import request_guards, request_log

    request_log.init_app(app)  # first: its timer starts before, and its log line ends after, every other hook
    request_guards.init_app(app)  # before any route: the bounded <int:> converter
    _init_extensions(app)
    from .services.moderation import audit_log

    audit_log.install()  # the staff-edit audit hook: an ORM listener, wired here like search's

    from . import api, cli, views

    from . import oidc

    oidc.init_app(app)
    views.init_app(app)
    api.init_app(app)
    from . import search

    search.init_app(app)
    from .services import fanout

    fanout.init_app(app)  # notifications after the commit, off the request
    cli.init_app(app)

    from . import page_cache, security_headers
    from .services.forum import view_counts

    page_cache.init_app(app)
    view_counts.init_app(app)
    from .services.deflection import credit as deflection_credit

    deflection_credit.init_app(app)  # inferred deflections credited after a request, when due
    security_headers.init_app(app)
    from . import page_cache_wsgi

    page_cache_wsgi.init_app(app)  # kept pages answered before Flask
    request_log.install_proxy_fix(app)  # outermost: every layer inside sees the client's address
    return app


def _init_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (the whole metadata, for Alembic)
    from .extensions import (
        configure_sqlite_connections,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )

    configure_sqlite_connections()

    from . import ratelimit_storage  # noqa: F401  (registers sqlite:// with the limits library)

    # Shared by every worker: Redis when configured, else a SQLite file beside the instance.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL")
                          or f"sqlite:///{Path(app.instance_path).resolve() / 'ratelimits.sqlite3'}")
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        from .models import User

        ident, _, version = user_id.partition(":")
        try:
            user = db.session.get(User, int(ident))
        except ValueError:
            return None
        if user is None or str(user.session_version) != (version or "1"):
            return None
        return user

