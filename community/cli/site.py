"""``flask backup``, ``flask restore`` and ``flask copy-to``: a site that can be saved, restored and moved."""
from __future__ import annotations

import time

import click
from flask import current_app
from sqlalchemy import create_engine

from .. import search as search_service
from ..extensions import db
from ..services.errors import ServiceError
from ..services.maintenance import backup as backup_service
from ..services.maintenance import transfer


def _fail(exc: ServiceError):
    raise click.ClickException(exc.message)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup(path: str):
    """Write a backup of the database to PATH (a new file).

    SQLite: the online backup API (the site keeps serving); PostgreSQL: pg_dump's
    custom format (pg_dump must be installed).  The search index is not in it:
    `restore` rebuilds it.
    """
    try:
        report = backup_service.backup(db.engine, path)
    except ServiceError as exc:
        _fail(exc)
    total = sum(report.rows.values())
    click.echo(f"Backed up {total:,} rows in {len(report.rows)} tables to {report.path} "
               f"({report.kind}, {report.bytes:,} bytes).")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Overwrite a database that has rows.")
def restore(path: str, replace: bool):
    """Replace the database with the backup at PATH, then rebuild the search index.

    Refuses a database that has rows unless --replace is given.
    """
    try:
        rows = backup_service.restore(db.engine, path, replace=replace)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Restored {sum(rows.values()):,} rows in {len(rows)} tables from {path}.")
    written = search_service.rebuild()
    click.echo(f"Search index rebuilt: {written:,} documents.")


@click.command("copy-to")
@click.argument("database_url")
@click.option("--index-dir", type=click.Path(file_okay=False),
              help="Search index for the target (default: this site's SEARCH_INDEX_DIR).")
def copy_to(database_url: str, index_dir: str | None):
    """Copy this site into the empty database at DATABASE_URL (e.g. SQLite → PostgreSQL).

    Every table in foreign-key order with its ids, then the sequences, in one
    transaction; row counts and a checksum of every table are compared before it
    commits.  Refuses a target that has rows.  Then rebuilds the search index
    from the target.  Writes made to the site while it copies are not copied:
    stop them first (or copy again into a fresh database).
    """
    started = time.perf_counter()
    target = create_engine(database_url)
    try:
        report = transfer.copy_site(db.engine, target)
    except ServiceError as exc:
        _fail(exc)
    finally:
        target.dispose()
    click.echo(f"Copied {report.rows:,} rows in {len(report.tables)} tables "
               f"(migration {', '.join(report.revision)}; schema "
               f"{'created' if report.created_schema else 'already there'}) in "
               f"{time.perf_counter() - started:.1f}s; row counts and checksums agree:")
    for table in report.tables:
        click.echo(f"  {table.name:<24} {table.rows:>9,}  {table.checksum[:16]}")
    written = _rebuild_target_index(database_url, index_dir)
    click.echo(f"Search index rebuilt from the target: {written:,} documents. "
               f"Point DATABASE_URL at the target to serve from it.")


def _rebuild_target_index(database_url: str, index_dir: str | None) -> int:
    from .. import create_app

    config = current_app.config
    target_app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": current_app.instance_path,
                             "SEARCH_INDEX_DIR": index_dir or config["SEARCH_INDEX_DIR"],
                             "SECRET_KEY": config["SECRET_KEY"], "TESTING": config.get("TESTING", False)})
    with target_app.app_context():
        try:
            return search_service.rebuild()
        finally:
            db.session.remove()
            db.engine.dispose()
