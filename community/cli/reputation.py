"""``flask reputation ...``: maintain totals derived from the ledger."""
from __future__ import annotations

import click

from ..extensions import db
from ..services.forum import reputation as reputation_service


@click.group()
def reputation():
    """Reputation ledger maintenance."""


@reputation.command("recompute")
def recompute():
    """Rebuild every user's reputation total from the ledger rows."""
    changed = reputation_service.recompute_all()
    db.session.commit()
    click.echo(f"Recomputed reputation; {changed} user total(s) corrected.")
