"""``flask search rebuild``: rebuild the search index from the database (the source of truth)."""
from __future__ import annotations

import time

import click

from .. import search as search_service


@click.group("search")
def search():
    """Search index."""


@search.command("rebuild")
def rebuild():
    """Rebuild the index from the database, with a progress bar."""
    total = search_service.total()
    started = time.perf_counter()
    with click.progressbar(length=total, label="Indexing", show_pos=True) as bar:
        written = search_service.rebuild(progress=bar.update)
    elapsed = time.perf_counter() - started
    click.echo(f"Indexed {written:,} documents in {elapsed:.1f}s.")


@search.command("status")
def status():
    """Documents in the index beside those in the database, and updates waiting to be applied."""
    if search_service.rebuilding():
        click.echo(f"Index: being rebuilt after a schema upgrade (started by the app, or run `flask search rebuild`); "
                   f"database: {search_service.total():,} searchable.")
        return
    click.echo(f"Index: {search_service.count():,} documents; database: {search_service.total():,} searchable. "
               f"{search_service.pending():,} updates waiting to be applied.")


@search.command("apply")
def apply():
    """Apply the indexing queue now (changes committed and not indexed yet).

    The app servers apply it by themselves after each write; this is for a site whose
    servers are stopped, or to see it done before a check."""
    written = search_service.apply_pending()
    if written is None:
        raise click.ClickException("The search index stayed locked by another writer; try again.")
    click.echo(f"Applied {written:,} documents; {search_service.pending():,} updates waiting.")


@search.command("terms")
def terms():
    """PostgreSQL backend: rebuild the table of words (document counts, typo corrections) now.

    The app servers refresh it themselves, in a background thread, once it is older than
    SEARCH_PG_STATS_SECONDS (requests meanwhile use the last one); run this from cron to keep
    that work off the app servers, or after bulk SQL.  One refresh runs at a time (an advisory
    lock): this waits for one already running, then refreshes."""
    from flask import current_app

    state = current_app.extensions["search"]
    if not hasattr(state, "refresh_terms"):
        raise click.ClickException("Only the PostgreSQL backend has a table of words (SEARCH_BACKEND=postgres).")
    started = time.perf_counter()
    words = state.refresh_terms()
    click.echo(f"Refreshed the table of words: {words:,} words in {time.perf_counter() - started:.1f}s.")


@search.command("learn")
@click.option("--days", type=int, default=None,
              help="Ask sessions of this many last days (default SEARCH_LEARN_DAYS, 730).")
def learn(days):
    """Rebuild learned evidence from the ask events and closed duplicates, then re-index what changed.

    Run it regularly (cron, hourly or daily): suggestions opened and followed by no
    contact become evidence only once their window has elapsed, and re-indexing
    applies the decay of old votes.  Confirmed deflections are learned at once.
    """
    from ..extensions import db
    from ..services.learning import clicks, evidence, judgments

    rebuilt = evidence.rebuild_from_events(days=days)
    duplicates = evidence.rebuild_duplicates()
    judged = judgments.rebuild()
    clicked = clicks.rebuild(days=days)
    db.session.commit()
    threads = rebuilt.threads | duplicates.threads | judged.threads | clicked.threads
    search_service.touch(*(f"thread:{thread_id}" for thread_id in sorted(threads)))
    click.echo(f"Learned {rebuilt.votes:,} votes from ask sessions, {duplicates.votes:,} from closed "
               f"duplicates, {judged.votes:,} from accepted answers and ideas linking to threads and "
               f"{clicked.votes:,} from related-question clicks; re-indexed {len(threads):,} threads.")
