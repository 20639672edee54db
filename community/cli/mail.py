"""``flask mail send [--loop]`` and ``flask mail status``: the mail worker and its queue."""
from __future__ import annotations

import time

import click

from ..services.mail import digest as digest_service
from ..services.mail import outbox


@click.group()
def mail():
    """Send the mail waiting in the outbox."""


@mail.command("send")
@click.option("--loop", is_flag=True, help="Keep running, sleeping until the next message is due.")
@click.option("--interval", default=5.0, show_default=True,
              help="Longest sleep between polls in --loop mode (seconds).")
def send(loop: bool, interval: float):
    """Send due mail (once, or forever with --loop). Safe to run several at once: none is sent twice."""
    worker = outbox.worker_name()
    while True:
        counts = outbox.send_due(worker)
        if any(counts.values()) or not loop:
            click.echo(f"sent {counts['sent']}, will retry {counts['retry']}, failed {counts['failed']}")
        if not loop:
            return
        wait = outbox.next_due_in()
        time.sleep(interval if wait is None else min(max(wait, 0.05), interval))


@mail.command("status")
def status():
    """How many messages wait, and the ones that failed for good with their last error."""
    click.echo(f"pending {outbox.pending_count()}")
    for message in outbox.failed():
        click.echo(f"failed #{message.id} to {message.payload.get('to')} after {message.attempts} attempts "
                   f"({message.failed_at:%Y-%m-%d %H:%M} UTC): {message.last_error}")


@mail.command("digest")
def digest():
    """Queue the daily digest for every member with something new (run daily from cron)."""
    counts = digest_service.build()
    click.echo(f"queued {counts['digests']} digests with {counts['items']} items; "
               "`flask --app community mail send` sends them")
