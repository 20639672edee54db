"""``flask check [--fix]``: report (and repair) drift between counters, the ledger and their rows."""
from __future__ import annotations

import click

from ..extensions import db, write_intent
from ..services.maintenance import integrity


@click.command("check")
@click.option("--fix", is_flag=True, help="Repair what can be derived again from the rows.")
def check(fix: bool):
    """Verify stored counters, reputation totals and the ledger; exit 1 while drift remains.

    Checks post and thread scores against the votes, reply counts, idea vote
    and comment counts, one open ledger row per standing vote and per accept,
    the daily cap, every reputation total against the ledger, and the search
    index against the database, document by document: missing, extra or stale
    (--fix re-indexes those documents).
    """
    with write_intent():
        found = integrity.repair() if fix else integrity.find_drift()
        if fix:
            db.session.commit()
        remaining = integrity.find_drift() if fix else found
        db.session.rollback()
    # After the rows (committed): the index is rebuilt from what they say now.
    search_found = integrity.repair_search() if fix else integrity.search_drift()
    found += search_found
    remaining += integrity.search_drift() if fix else search_found
    if not found:
        click.echo("No drift: every counter, total and ledger row agrees.")
        return
    click.echo(f"{len(found)} problem(s) found:")
    for drift in found:
        click.echo(f"  {drift}")
    if fix:
        fixed = len(found) - len(remaining)
        click.echo(f"Repaired {fixed}; {len(remaining)} remain.")
        for drift in remaining:
            click.echo(f"  still: {drift}")
    else:
        click.echo("Run `flask --app community check --fix` to repair what is derivable.")
    if remaining:
        raise SystemExit(1)
