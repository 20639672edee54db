"""``flask deflection demo-sessions`` (simulated ask sessions for a demo site's analytics) and
``flask deflection credit`` (credit inferred deflections that held: run it from cron)."""
from __future__ import annotations

import click

from ..demo import ask_sessions
from ..extensions import db, write_intent
from ..services.deflection import credit


@click.group()
def deflection():
    """Search-before-you-post and deflection metrics."""


@deflection.command("demo-sessions")
@click.option("--days", default=30, show_default=True, help="Days of history to simulate.")
def demo_sessions(days: int):
    """Simulate ask sessions on a DEMO site (does nothing if any session exists)."""
    count = ask_sessions.seed_sessions(days)
    db.session.commit()
    if count:
        click.echo(f"Simulated {count} ask sessions over {days} days: see /analytics.")
    else:
        click.echo("Ask sessions already exist (or there are no threads): nothing simulated.")


@deflection.command("credit")
def credit_inferred():
    """Credit inferred deflections whose sessions ended without a contact (run every 10 minutes
    from cron; safe to run in several processes at once: each session is credited once)."""
    with write_intent():
        done = credit.settle_inferred()
    click.echo(f"judged {sum(done.values())} sessions: " + ", ".join(
        f"{kind} {done[kind]}" for kind in ("credited", "failed", "kept", "excluded", "hidden", "none", "pending")))
