"""Backups of the site's database, and restoring one (``flask backup PATH`` / ``flask restore PATH``).

- SQLite: SQLite's online backup API (``sqlite3.Connection.backup``) copies the
  database page by page as of one moment while the site keeps serving; the file
  written is itself a SQLite database.  Restoring copies it back the same way.
- PostgreSQL: ``pg_dump --format=custom`` (it must be installed on the machine
  that runs the command); restoring runs ``pg_restore`` in one transaction.

The search index is not backed up: it is rebuilt from the database after a
restore (the caller does it).  A restore refuses a database that has rows unless
``replace`` is given: restoring over a live site is a decision, not an accident.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select

from ...extensions import db
from ..errors import Conflict, ValidationError
from . import transfer

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


@dataclass
class BackupReport:
    path: str
    kind: str              # "sqlite" or "pg_dump"
    bytes: int
    rows: dict[str, int]   # per table, as read from the backup (SQLite) or the database (pg_dump)


def libpq_url(engine: Engine) -> str:
    """The engine's URL as pg_dump and psql spell it (no "+psycopg")."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValidationError("An in-memory SQLite database cannot be backed up.")
    return database


def _row_counts(conn) -> dict[str, int]:
    existing = set(inspect(conn).get_table_names())
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in transfer.tables() if t.name in existing}


def backup(engine: Engine, path: str | os.PathLike) -> BackupReport:
    """Write a backup of the database behind ``engine`` to ``path`` (which must not exist)."""
    path = Path(path)
    if path.exists():
        raise Conflict(f"{path} exists: choose a new file (a backup never overwrites one).")
    if not path.parent.is_dir():
        raise ValidationError(f"{path.parent} is not a directory.", field="path")
    partial = path.with_name(path.name + ".partial")
    dialect = engine.dialect.name
    try:
        if dialect == "sqlite":
            kind = "sqlite"
            source = sqlite3.connect(_sqlite_path(engine))
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
                check = target.execute("PRAGMA integrity_check").fetchone()[0]
                if check != "ok":
                    raise Conflict(f"The backup failed SQLite's integrity check: {check}")
            finally:
                target.close()
                source.close()
            from sqlalchemy import create_engine

            written = create_engine(f"sqlite:///{partial}")
            with written.connect() as conn:
                rows = _row_counts(conn)
            written.dispose()
        elif dialect == "postgresql":
            kind = "pg_dump"
            pg_dump = _tool("pg_dump")
            with engine.connect() as conn:
                rows = _row_counts(conn)
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
                  libpq_url(engine)])
        else:
            raise ValidationError(f"Backups of {dialect} databases are not supported.")
        partial.rename(path)
    finally:
        if partial.exists():
            partial.unlink()
    return BackupReport(str(path), kind, path.stat().st_size, rows)


def backup_kind(path: str | os.PathLike) -> str:
    """"sqlite" or "pg_dump", from the file's first bytes."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{path} is not a file.", field="path")
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "pg_dump"
    raise ValidationError(f"{path} is neither a SQLite database nor a pg_dump archive.", field="path")


def restore(engine: Engine, path: str | os.PathLike, *, replace: bool = False) -> dict[str, int]:
    """Replace the database behind ``engine`` with the backup at ``path``; returns its row counts.

    Refuses (``Conflict``) a database with rows unless ``replace``; a SQLite backup
    restores into SQLite and a pg_dump archive into PostgreSQL (to move between
    the two, restore where the backup came from and use ``copy-to``).
    """
    kind = backup_kind(path)
    dialect = engine.dialect.name
    wanted = {"sqlite": "sqlite", "pg_dump": "postgresql"}[kind]
    if dialect != wanted:
        raise ValidationError(f"A {kind} backup restores into {wanted}, not {dialect}; "
                              "to move a site between databases use `copy-to`.", field="path")
    if not replace and not transfer.is_empty(engine):
        raise Conflict("The database has rows: restore into an empty one, or pass --replace to overwrite it.")
    db.session.remove()
    engine.dispose()  # no pooled connection may keep the old schema or pages
    if kind == "sqlite":
        source = sqlite3.connect(path)
        target = sqlite3.connect(_sqlite_path(engine))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", f"--dbname={libpq_url(engine)}", str(path)])
    engine.dispose()
    with engine.connect() as conn:
        return _row_counts(conn)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ValidationError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return found


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        shown = [c if not c.startswith(("postgresql://", "--dbname=")) else "<database>" for c in command]
        raise Conflict(f"{Path(shown[0]).name} failed ({result.returncode}): {result.stderr.strip()[:500]}")
