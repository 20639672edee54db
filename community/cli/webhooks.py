"""``flask webhooks deliver [--loop]``: the ticket webhook worker."""
from __future__ import annotations

import time

import click

from ..services.tickets import webhooks as service


@click.group()
def webhooks():
    """Deliver outbound ticket webhooks from the outbox."""


@webhooks.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running, sleeping until the next delivery is due.")
@click.option("--interval", default=5.0, show_default=True,
              help="Longest sleep between polls in --loop mode (seconds).")
def deliver(loop: bool, interval: float):
    """Send due webhook deliveries (once, or forever with --loop). Safe to run several at once."""
    if not service.enabled():
        click.echo("TICKET_WEBHOOK_URL is not set; nothing to deliver.")
        if not loop:
            return
    worker = service.worker_name()
    while True:
        counts = service.deliver_due(worker)
        if any(counts.values()) or not loop:
            click.echo(f"sent {counts['sent']}, will retry {counts['retry']}, failed {counts['failed']}")
        if not loop:
            return
        wait = service.next_due_in()
        time.sleep(interval if wait is None else min(max(wait, 0.05), interval))
