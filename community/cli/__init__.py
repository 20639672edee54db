"""Flask CLI commands; each group lives in its own module."""
from __future__ import annotations


def init_app(app) -> None:
    from . import demo, reputation, users
    from . import webhooks  # branch tickets

    for group in (users.users, reputation.reputation, demo.demo):
        app.cli.add_command(group)
    app.cli.add_command(webhooks.webhooks)
