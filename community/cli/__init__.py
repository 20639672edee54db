"""Flask CLI commands; each group lives in its own module."""
from __future__ import annotations


def init_app(app) -> None:
    from . import demo, reputation, users

    for group in (users.users, reputation.reputation, demo.demo):
        app.cli.add_command(group)

    # Search and bulk import (branch search).
    from . import importer, search

    app.cli.add_command(search.search)
    app.cli.add_command(importer.import_command)

    # Deflection (branch deflection).
    from . import deflection

    app.cli.add_command(deflection.deflection)
