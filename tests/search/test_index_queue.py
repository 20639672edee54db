"""The Whoosh indexing queue (search/queue.py): queued in the writer's transaction, applied after it.

Under TESTING the queue is applied in the request right after its commit (the other search
tests rely on that); here it is switched to what production does: a background applier.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from community import search
from community.models import SearchQueueEntry, Thread
from community.services.forum import threads as forum_threads


def queued(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.execute(select(SearchQueueEntry.key).order_by(SearchQueueEntry.id)).scalars())


def found(text, thread) -> bool:
    return any(hit["id"] == thread.id for hit in search.suggest(text, limit=20))


@pytest.fixture()
def background(app):
    """The queue as production runs it: applied by a thread, not by the request."""
    queue = app.extensions["search"].queue
    queue.sync = False
    yield queue
    queue.stop()


def wait_until(predicate, seconds=15.0) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < seconds, "not within the bound"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_write_queues_its_documents_in_its_own_transaction_and_a_rollback_queues_none(app, db, make):
    queue = app.extensions["search"].queue
    queue.sync = False
    queue.wake = lambda: None  # nothing applies it: the rows stay to be read
    thread = make.thread(title="Projector flickers on the HDMI input")
    assert queued(db) == [f"thread:{thread.id}"]
    assert search.count() == 0 and not found("projector flickers", thread)

    thread.title = "Projector flickers on every HDMI input"
    db.session.flush()
    db.session.rollback()
    assert queued(db) == [f"thread:{thread.id}"]  # the rolled-back edit left no row

    assert search.apply_pending() == 1
    assert queued(db) == [] and found("projector flickers", thread)


def test_the_request_does_not_wait_for_the_index_and_the_applier_indexes_it_soon(app, db, make, client):
    """The index lock held elsewhere (another worker applying) used to hold a reply for up to
    SEARCH_LOCK_TIMEOUT; now the reply answers at once and is searchable when the lock frees."""
    from community.services.accounts import users

    make.thread(title="Warm-up thread so the index has a segment")
    background = app.extensions["search"].queue
    background.sync = False
    try:
        thread = make.thread(title="Keyboard repeats letters after sleep")
        author = make.user("poster")
        token = users.issue_token(author)
        db.session.commit()
        wait_until(lambda: queued(db) == [])
        held = app.extensions["search"].index.writer(timeout=1)  # another writer holds the lock
        try:
            started = time.monotonic()
            response = client.post(f"/api/v1/threads/{thread.id}/posts",
                                   json={"body": "Turn off filter keys: the repeat delay comes back."},
                                   headers={"Authorization": f"Bearer {token}"})
            elapsed = time.monotonic() - started
            assert response.status_code == 201
            assert elapsed < 2.0, elapsed  # SEARCH_LOCK_TIMEOUT is 5 s
            time.sleep(0.5)
            assert queued(db) == [f"thread:{thread.id}"] and not found("filter keys", thread)
        finally:
            held.cancel()
        wait_until(lambda: queued(db) == [] and found("filter keys", thread), seconds=10)
    finally:
        background.stop()


def test_the_applier_picks_up_rows_no_wake_up_announced(app, db, make, background):
    """A worker that died after its commit left rows: another process's applier finds them
    within its poll."""
    background.poll_seconds = 0.2
    background.ensure_running()
    thread = make.thread(title="Scanner skips every second page")
    db.session.add(SearchQueueEntry(key=f"thread:{thread.id}"))
    db.session.add(SearchQueueEntry(key="thread:999999"))  # gone from the database: deleted from the index
    db.session.commit()
    wait_until(lambda: queued(db) == [], seconds=10)
    assert found("scanner skips page", thread)


def test_a_row_committed_during_a_round_stays_for_the_next(app, db, make):
    """Rows are deleted by id after the index commit: one written while the round read its
    documents was not read, so it stays and the next round applies it."""
    queue = app.extensions["search"].queue
    queue.sync = False
    queue.wake = lambda: None
    first = make.thread(title="Router drops wifi at midnight")
    load = queue.loader
    late = {}

    def loader(keys):
        if not late:  # another worker commits a change while this round reads
            late["thread"] = make.thread(title="Webcam image is upside down")
        return load(keys)

    queue.loader = loader
    assert queue._round(lock_timeout=1) == (1, 1)
    assert queued(db) == [f"thread:{late['thread'].id}"]
    assert found("router drops wifi", first) and not found("webcam upside down", late["thread"])
    assert search.apply_pending() == 1
    assert queued(db) == [] and found("webcam upside down", late["thread"])


def test_under_testing_the_queue_is_applied_before_the_response(app, db, make):
    assert app.extensions["search"].queue.sync is True
    thread = make.thread(title="Headset microphone is too quiet")
    assert queued(db) == [] and found("headset microphone quiet", thread)


def test_flask_search_status_and_apply(app, db, make):
    queue = app.extensions["search"].queue
    queue.sync = False
    queue.wake = lambda: None
    make.thread(title="Monitor goes black for a second")
    make.thread(title="Mouse cursor jumps to the corner")
    runner = app.test_cli_runner()
    assert "Index: 0 documents; database: 2 searchable. 2 updates waiting to be applied." in \
        runner.invoke(args=["search", "status"]).output
    result = runner.invoke(args=["search", "apply"])
    assert result.exit_code == 0 and "Applied 2 documents; 0 updates waiting." in result.output
    assert db.session.execute(select(func.count()).select_from(Thread)).scalar_one() == search.count() == 2


def test_bulk_updates_are_one_index_commit(app, db, make):
    """Thirty changes waiting are applied in one round (one Whoosh commit), not thirty."""
    queue = app.extensions["search"].queue
    queue.sync = False
    queue.wake = lambda: None
    category = make.category()
    author = make.user()
    for n in range(30):
        forum_threads.create_thread(author, category, f"Battery question number {n} about drain", "It drains overnight.", None)
        db.session.commit()
    before = app.extensions["search"].index.index().latest_generation()
    assert search.apply_pending() == 30
    assert app.extensions["search"].index.index().latest_generation() == before + 1


def test_stop_all_ends_every_applier_of_the_process(app, make, db, background):
    """What the suite's autouse fixture calls after each test: an app that a test made without
    TESTING (a live server's preparation) must not leave its applier polling a dropped database."""
    import threading

    from community.search import queue as queue_module

    make.thread(title="Printer driver crashes on startup", body="Each time the spooler starts it crashes.")
    wait_until(lambda: background._thread is not None and background._thread.is_alive())
    queue_module.stop_all()
    assert "search-queue" not in {thread.name for thread in threading.enumerate() if thread.is_alive()}


def test_a_round_that_deletes_late_never_deletes_a_row_written_after_its_read(app, db, make):
    """Between a round's index commit (which releases the lock) and its delete, another worker's
    round applies the same rows and empties the queue, and a new change is queued.  SQLite gave
    that new row the id of one just applied (an empty table starts again at 1), so the first
    round's late ``DELETE ... WHERE id IN (...)`` took it: the change was never indexed and
    nothing waited (the three-worker test: a reply missing from the index, 0 rows pending).
    Queue ids are never reused, so the late delete only takes rows that were applied."""
    from community.search.queue import IndexQueue

    queue = app.extensions["search"].queue
    queue.sync = False
    queue.wake = lambda: None
    first = make.thread(title="Router drops wifi at midnight")
    state = app.extensions["search"]
    other_worker = IndexQueue(app, state.index, state.load)
    write, late = state.index.write_documents, {}

    def write_then_let_another_worker_in(writer, keys, loader):
        write(writer, keys, loader)           # the index is committed and its lock released
        if not late:
            late["other worker"] = True
            assert other_worker._round(lock_timeout=1) == (1, 1)
            assert queued(db) == []
            late["thread"] = make.thread(title="Webcam image is upside down")

    state.index.write_documents = write_then_let_another_worker_in
    try:
        assert queue._round(lock_timeout=1) == (1, 1)
    finally:
        state.index.write_documents = write
    assert queued(db) == [f"thread:{late['thread'].id}"]
    assert search.apply_pending() == 1
    assert found("router drops wifi", first) and found("webcam upside down", late["thread"])
