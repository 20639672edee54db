"""Flask CLI commands; each group lives in its own module."""
from __future__ import annotations


def init_app(app) -> None:
    from . import check, deflection, demo, importer, mail, reputation, search, site, users, webhooks

    for command in (users.users, reputation.reputation, demo.demo, search.search,
                    importer.import_command, deflection.deflection, webhooks.webhooks,
                    check.check, site.backup, site.restore, site.copy_to, mail.mail):
        app.cli.add_command(command)
