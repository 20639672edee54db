"""``flask search rebuild``: rebuild the search index from the database (the source of truth)."""
from __future__ import annotations

import time

import click

from .. import search as search_service


@click.group("search")
def search():
    """Search index."""


@search.command("rebuild")
def rebuild():
    """Rebuild the index from the database, with a progress bar."""
    total = search_service.total()
    started = time.perf_counter()
    with click.progressbar(length=total, label="Indexing", show_pos=True) as bar:
        written = search_service.rebuild(progress=bar.update)
    elapsed = time.perf_counter() - started
    click.echo(f"Indexed {written:,} documents in {elapsed:.1f}s.")


@search.command("status")
def status():
    """Documents in the index beside those in the database."""
    click.echo(f"Index: {search_service.count():,} documents; database: {search_service.total():,} searchable.")
