"""``flask import FILE.jsonl`` and ``flask import --format stackexchange DIR`` (filled in below)."""
from __future__ import annotations

import click


@click.command("import")
@click.argument("source", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "stackexchange"]), default="jsonl")
def import_command(source, fmt):
    """Import threads from a JSONL file or a Stack Exchange dump directory."""
    raise click.ClickException("Import is not available yet.")
