"""``flask users ...``: create accounts and API tokens."""
from __future__ import annotations

import click

from ..extensions import db
from ..models import ROLES
from ..services.accounts import users as users_service
from ..services.errors import ServiceError


@click.group()
def users():
    """Manage user accounts and API tokens."""


@users.command("create")
@click.argument("username")
@click.option("--email", required=True, help="The account's email address.")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
def create(username, email, password, role):
    """Create a user with a role."""
    try:
        user = users_service.create_user(username, email, password, role)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"Created {user.username} ({user.role}).")


@users.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label to recognise the token by.")
def token(username, name):
    """Print a new API token for USERNAME (stored hashed; shown only now)."""
    try:
        user = users_service.get_by_username(username)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    value = users_service.issue_token(user, name)
    db.session.commit()
    click.echo(value)
