"""Is this app server fit to serve?  What ``GET /healthz`` answers to load balancers.

Four checks, each cheap enough to run every few seconds:

- ``database``: the database answers ``SELECT 1``;
- ``search``: the search index can be opened and read (its document count);
- ``migrations``: the revision stamped in ``alembic_version`` is the head of
  ``migrations/`` (an app server started on new code before ``flask db upgrade``,
  or on old code after it, is not current and should get no traffic);
- ``uploads``: image storage answers (the folder is writable, or the S3 bucket
  answers ``HEAD``).

A failing check reports the exception's class and first line, never a
traceback, and the others still run, so that the answer says everything that
is wrong at once.
"""
from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from ... import search
from ...extensions import db


def check_all() -> dict:
    """``{"ok": bool, "failed": [names], "checks": {name: {"ok": bool, ...}}}``."""
    checks = {}
    for name, check in (("database", _database), ("search", _search), ("migrations", _migrations),
                        ("uploads", _uploads)):
        started = time.perf_counter()
        try:
            result = {"ok": True, **check()}
        except Exception as exc:  # noqa: BLE001 - any failure means "not fit", said plainly
            db.session.rollback()
            result = {"ok": False, "error": _describe(exc)}
        if result.get("ok") and result.get("problem"):
            result["ok"] = False
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        checks[name] = result
    failed = [name for name, result in checks.items() if not result["ok"]]
    return {"ok": not failed, "failed": failed, "checks": checks}


def _describe(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{exc.__class__.__name__}: {first}" if first else exc.__class__.__name__


def _database() -> dict:
    db.session.execute(text("SELECT 1")).scalar_one()
    return {"dialect": db.engine.dialect.name}


def _search() -> dict:
    # Rebuilding after an upgrade, every server would fail the check at once and the load
    # balancer would take the whole site down for what is only search being back in minutes.
    if search.rebuilding():
        return {"rebuilding": True}
    return {"documents": search.count()}


def _uploads() -> dict:
    from ..uploads import storage

    return storage.backend().check()


def _migrations() -> dict:
    heads = migration_heads(_migrations_directory())
    try:
        stamped = set(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception:  # noqa: BLE001 - no alembic_version table: never migrated
        db.session.rollback()
        return {"problem": "the database was never migrated (no alembic_version table)",
                "head": sorted(heads)}
    db.session.rollback()  # end the read transaction: SQLite keeps no snapshot open
    result = {"revision": sorted(stamped), "head": sorted(heads)}
    if stamped != heads:
        result["problem"] = "the database is not at the migrations' head: run `flask --app community db upgrade`"
    return result


def _migrations_directory() -> str:
    return str(current_app.extensions["migrate"].directory)


@lru_cache(maxsize=4)
def migration_heads(directory: str) -> frozenset[str]:
    """The head revision(s) of the migration scripts (read once per process: code does not change
    under a running server)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(directory)))
    return frozenset(ScriptDirectory.from_config(config).get_heads())
