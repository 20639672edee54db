"""``flask mail send [--loop]`` and ``flask mail status``: the mail worker and its queue."""
from __future__ import annotations

import sys
import time

import click

from .. import permissions
from ..extensions import db, write_intent
from ..ratelimit import hit
from ..services import fanout
from ..services.errors import NotFound, PermissionDenied, RateLimited, ServiceError, ValidationError
from ..services.forum import threads
from ..services.mail import inbound, reminders

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
    """How many messages wait, how many were held back at the daily ceiling, and the ones that
    failed for good with their last error."""
    click.echo(f"pending {outbox.pending_count()}")
    click.echo(f"held back in the last 24 hours {outbox.held_back_count()} (members past "
               "MAIL_DAILY_LIMIT_PER_USER; their notifications stay in-app)")
    waiting = fanout.pending()
    if waiting:
        click.echo(f"posts whose notifications wait {waiting} (services/fanout.py; `mail send` applies them)")
    for message in outbox.failed():
        click.echo(f"failed #{message.id} to {message.payload.get('to')} after {message.attempts} attempts "
                   f"({message.failed_at:%Y-%m-%d %H:%M} UTC): {message.last_error}")


@mail.command("digest")
def digest():
    """Queue the daily digest for every member with something new (run daily from cron)."""
    counts = digest_service.build()
    click.echo(f"queued {counts['digests']} digests with {counts['items']} items; "
               "`flask --app community mail send` sends them")


@mail.command("reminders")
def reminders_command():
    """Remind askers to accept an answer (ACCEPT_REMINDER_DAYS) and offer unanswered questions to
    the members watching their category or tags (UNANSWERED_NOTIFY_HOURS); each once (cron, hourly)."""
    counts = reminders.run()
    click.echo(f"reminded {counts['accept']} askers to accept; offered {counts['unanswered']} unanswered "
               f"questions to {counts['told']} members")


#: sysexits(3) codes an MTA's pipe understands: bounce with the message, or try again later.
EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_NOPERM = 65, 67, 75, 77
MAX_INBOUND_BYTES = 10 * 1024 * 1024


def _exit_code(exc: ServiceError) -> int:
    if isinstance(exc, RateLimited):
        return EX_TEMPFAIL
    if isinstance(exc, PermissionDenied):
        return EX_NOPERM
    if isinstance(exc, NotFound) or getattr(exc, "field", None) == "token":
        return EX_NOUSER
    return EX_DATAERR


@mail.command("receive")
@click.option("--recipient", default=None, help="The envelope recipient (Postfix: ${recipient}; Exim: "
              "$local_part+$local_part_suffix@$domain); else read from the message's headers.")
def receive(recipient: str | None):
    """Post the reply read on standard input (one raw message, as an MTA pipe delivers it).

    Exits 0 when posted, or when the same mail (by its Message-ID) was posted before; otherwise prints why on standard error and exits with a sysexits code
    the MTA turns into a bounce (67 unknown or expired address, 77 not allowed, 65 unreadable) or
    a retry (75: too many posts right now)."""
    raw = sys.stdin.buffer.read(MAX_INBOUND_BYTES + 1)
    try:
        if len(raw) > MAX_INBOUND_BYTES:
            raise ValidationError("The message is larger than 10 MB.", field="body")
        with write_intent():
            reply = inbound.read(raw, recipient)
            received, earlier = inbound.claim(reply.key)
            if received is None:          # delivered before: done already, nothing to bounce
                db.session.rollback()
                click.echo(f"already received (posted as #{earlier}); nothing posted again")
                return
            if not permissions.can_reply(reply.user, reply.thread):
                raise PermissionDenied(_refusal(reply))      # the rollback forgets the claim
            hit("POST_RATE_LIMIT", key=f"user:{reply.user.id}")
            post = threads.add_reply(reply.user, reply.thread, reply.body)
            received.post_id = post.id
            db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"Your reply was not posted: {exc.message}", err=True)
        sys.exit(_exit_code(exc))
    click.echo(f"posted #{post.id} in thread {reply.thread.id} as {reply.user.username}")


def _refusal(reply) -> str:
    if reply.user.is_suspended:
        return "Your account is suspended, so you cannot post."
    if reply.thread.locked:
        return "This thread is locked: it takes no new answers."
    return "You cannot answer in this thread."
