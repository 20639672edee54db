"""``flask import FILE.jsonl`` and ``flask import --format stackexchange DIR``."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from flask import current_app

from ..extensions import db
from ..markup import sanitize_html
from ..services.forum import import_formats, importer


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


@click.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "stackexchange"]), default="jsonl",
              show_default=True, help="jsonl: one thread a line; stackexchange: a dump directory with Posts.xml.")
@click.option("--batch-size", default=importer.BATCH_SIZE, show_default=True, type=click.IntRange(1, 10000))
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="processes rendering Markdown (default IMPORT_WORKERS; 0: one per CPU, at most 4; 1: none)")
def import_command(source: Path, fmt: str, batch_size: int, workers: int | None):
    """Import threads and answers; idempotent on external_id (re-run to resume).

    Bad records are reported with their line number (the row number for a
    Stack Exchange dump) and skipped; the rest is imported and indexed.
    """
    if fmt == "jsonl":
        if source.is_dir():
            raise click.BadParameter("expected a .jsonl file (use --format stackexchange for a dump directory)")
        records, total = import_formats.read_jsonl(source), _count_lines(source)
        label = "line"
    else:
        if not source.is_dir():
            raise click.BadParameter("expected the dump directory holding Posts.xml")
        records = list(import_formats.read_stackexchange(source, sanitize_html))
        total, label = len(records), "row"

    if workers is None:
        workers = int(current_app.config.get("IMPORT_WORKERS") or 0)
    if workers == 0:
        workers = min(os.cpu_count() or 1, 4)
    errors: list[tuple[int, str]] = []
    started = time.perf_counter()
    with click.progressbar(length=total, label="Importing", show_pos=True, file=sys.stderr) as bar:
        report = importer.import_records(records, commit=db.session.commit, progress=bar.update,
                                         batch_size=batch_size, workers=workers,
                                         on_error=lambda line, message: errors.append((line, message)))
    elapsed = time.perf_counter() - started
    for line, message in errors:
        click.echo(f"{source}: {label} {line}: {message}", err=True)
    rate = report.created / elapsed if elapsed else 0
    click.echo(f"Imported {report.created:,} threads ({report.answers:,} answers) in {elapsed:.1f}s "
               f"({rate:,.0f} threads/s); skipped {report.skipped:,} already imported; "
               f"{len(errors):,} bad {label}s; created {report.users_created:,} users and "
               f"{report.categories_created:,} categories; indexed {report.indexed:,}.")
