"""``flask demo seed``: realistic demo content, once."""
from __future__ import annotations

import click

from ..demo import seed as demo_service
from ..extensions import db


@click.group()
def demo():
    """Demo content."""


@demo.command("seed")
def seed():
    """Seed demo users, categories, threads, answers and votes (does nothing if content exists)."""
    report = demo_service.seed()
    if report is None:
        click.echo("Demo content already present (or the site has content): nothing seeded.")
        return
    db.session.commit()
    click.echo(f"Seeded {report['threads']} threads, {report['answers']} answers, "
               f"{report['users']} users, {report['ideas']} ideas, {report['articles']} help articles, "
               f"{report['tickets']} support tickets and "
               f"{report['ask_sessions']} simulated "
               "ask sessions (for /analytics).")
    for username, role, password in demo_service.DEMO_ACCOUNTS:
        click.echo(f"  {role:<10} {username:<10} password: {password}")
