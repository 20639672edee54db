"""The index follows the database after each commit: create, edit, hide, delete, accept, move, merge."""
from __future__ import annotations

from community import search
from community.services.forum import accepting
from community.services.forum import threads as forum_threads


def keys(results):
    return [(r["type"], r["id"]) for r in results]


def found(text, thread):
    return ("thread", thread.id) in keys(search.suggest(text, limit=20))


def test_new_thread_is_found_after_commit(make):
    thread = make.thread(title="Printer makes a grinding noise", body="Every time I print the tray rattles.")
    results = search.suggest("grinding noise printer")
    assert results[0]["id"] == thread.id
    assert results[0]["type"] == "thread"
    assert results[0]["url"] == f"/threads/{thread.id}/{thread.slug}"
    assert results[0]["solved"] is False
    assert "tray rattles" in results[0]["snippet"]
    assert set(results[0]) == {"type", "id", "title", "url", "solved", "snippet", "score"}


def test_rollback_indexes_nothing(make, db):
    user, category = make.user(), make.category()
    forum_threads.create_thread(user, category, "Rolled back question title", "This body never gets committed.")
    db.session.rollback()
    assert search.suggest("rolled back question") == []


def test_a_thread_written_in_a_savepoint_is_indexed_when_the_outer_transaction_commits(make, db):
    """Releasing a savepoint is no commit: indexing then would read rows no other connection sees."""
    user, category = make.user(), make.category()
    with db.session.begin_nested():
        thread = forum_threads.create_thread(user, category, "Scanner jams on duplex pages",
                                             "The duplex unit jams on every second page.")
    assert search.suggest("scanner duplex jams") == []
    db.session.commit()
    assert keys(search.suggest("scanner duplex jams")) == [("thread", thread.id)]


def test_a_rolled_back_savepoint_keeps_the_outer_transaction_s_changes_for_the_index(make, db):
    user, category = make.user(), make.category()
    kept = forum_threads.create_thread(user, category, "Toner smears on glossy paper",
                                       "Glossy paper comes out smeared with toner.")
    savepoint = db.session.begin_nested()
    forum_threads.create_thread(user, category, "Abandoned draft about toner", "This one is rolled back.")
    savepoint.rollback()
    db.session.commit()
    assert keys(search.suggest("toner smears glossy")) == [("thread", kept.id)]


def test_edit_title_and_body_reindexes(make, db):
    thread = make.thread(title="Original wording about scanners")
    forum_threads.edit_post(thread.author, thread.question_post, "Now it is about the fax machine dialing out.",
                    title="Fax machine will not dial out")
    db.session.commit()
    assert not found("scanners", thread)
    assert found("fax dialing", thread)


def test_reply_and_accept_update_document(make, db):
    thread = make.thread(title="Export to spreadsheet fails", body="The export button shows a spinner forever.")
    reply = make.reply(thread, body="Disable the popup blocker for the site, then export again.")
    assert found("popup blocker", thread)
    hit = search.suggest("export spreadsheet")[0]
    assert hit["solved"] is False and "spinner" in hit["snippet"]
    accepting.accept(thread.author, thread, reply)
    db.session.commit()
    hit = search.suggest("export spreadsheet")[0]
    assert hit["solved"] is True
    assert "popup blocker" in hit["snippet"]


def test_hidden_deleted_and_merged_threads_leave_the_index(make, db):
    hidden, deleted, merged, target = (make.thread(title=f"Bluetooth headset pairing issue {n}")
                                       for n in ("one", "two", "three", "four"))
    assert search.count() == 4
    hidden.hidden = True
    db.session.commit()
    forum_threads.delete_post(deleted.author, deleted.question_post)
    db.session.commit()
    merged.merged_into_id = target.id
    db.session.commit()
    ids = {r["id"] for r in search.suggest("bluetooth headset pairing", limit=10)}
    assert ids == {target.id}
    assert search.count() == 1
    hidden.hidden = False
    db.session.commit()
    assert found("bluetooth headset", hidden)


def test_hidden_answer_never_in_snippet_or_index(make, db):
    thread = make.thread(title="Calendar invites arrive late")
    reply = make.reply(thread, body="Secretword zanzibar in an answer that gets hidden.")
    accepting.accept(thread.author, thread, reply)
    db.session.commit()
    assert found("zanzibar", thread)
    reply.hidden = True
    db.session.commit()
    assert not found("zanzibar", thread)
    hit = search.suggest("calendar invites")[0]
    assert "zanzibar" not in hit["snippet"].lower() and hit["solved"] is False


def test_move_to_other_category_updates_filter(make, db):
    first, second = make.category("Hardware"), make.category("Software")
    thread = make.thread(category=first, title="Driver install hangs at fifty percent")
    assert search.search("driver install", category_id=first.id).total == 1
    thread.category_id = second.id
    db.session.commit()
    assert search.search("driver install", category_id=first.id).total == 0
    assert search.search("driver install", category_id=second.id).total == 1


def test_vote_counter_update_reindexes(make, db):
    from community.models import Thread

    thread = make.thread(title="Keyboard shortcuts stopped working")
    thread.score = Thread.score + 7
    db.session.commit()
    hit = search.search("keyboard shortcuts").results[0]
    assert hit.votes == 7


def test_rebuild_equals_incremental(make, db, app):
    threads = [make.thread(title=f"Router drops wifi connection {word}") for word in ("daily", "hourly", "nightly")]
    make.reply(threads[0], body="Update the router firmware.")
    threads[1].hidden = True
    db.session.commit()
    before, ranked = stored_documents(app), keys(search.suggest("router wifi firmware", limit=10))
    assert search.rebuild() == 2
    assert search.count() == 2
    assert stored_documents(app) == before
    # Scores differ (deleted documents still count in term statistics until a merge); the order does not.
    assert keys(search.suggest("router wifi firmware", limit=10)) == ranked


def stored_documents(app):
    if app.config["SEARCH_BACKEND"] == "postgres":
        from sqlalchemy import text

        from community.search.postgres_schema import COLUMNS, TABLE

        with db_engine(app).connect() as connection:
            rows = connection.execute(text(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY key")).mappings()
            return [dict(row) for row in rows]
    searcher = app.extensions["search"].index.searcher()
    return sorted((dict(fields) for fields in searcher.all_stored_fields()), key=lambda d: d["key"])


def db_engine(app):
    from community.extensions import db

    return db.engine


def record_reindexing(app, monkeypatch) -> list:
    """Calls that re-index documents, on either backend."""
    calls = []
    state = app.extensions["search"]
    if getattr(state, "in_transaction", False):
        monkeypatch.setattr(state, "write", lambda session, keys: calls.append(set(keys)))
    else:  # Whoosh: what the indexing queue reads from the database for the index (search/queue.py)
        load = state.queue.loader
        monkeypatch.setattr(state.queue, "loader", lambda keys: calls.append(set(keys)) or load(keys))
    return calls


def test_rebuild_progress_and_drift_repair(make, db, app):
    from sqlalchemy import update

    from community.models import Thread

    thread = make.thread(title="Offline mode loses my drafts")
    other = make.thread(title="Dark mode colours look wrong")
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(hidden=True))
    db.session.commit()  # bulk UPDATE: no ORM event, the index drifts
    assert search.count() == 2
    ticks = []
    assert search.total() == 1
    assert search.rebuild(progress=ticks.append) == 1
    assert sum(ticks) == 1 and search.count() == 1
    assert search.suggest("offline drafts") == [] and search.suggest("dark mode")[0]["id"] == other.id
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(hidden=False))
    db.session.commit()
    search.touch(f"thread:{thread.id}")
    assert search.count() == 2


def test_view_counts_and_pins_do_not_touch_the_index(make, db, app, monkeypatch):
    from community.services.forum import view_counts

    thread = make.thread(title="Laptop fan is loud when idle")
    calls = record_reindexing(app, monkeypatch)
    view_counts.record(thread.id, "visitor-1")
    assert view_counts.flush() == 1
    thread.pinned = True
    db.session.commit()
    assert calls == []
    thread.title = "Laptop fan is very loud when idle"
    db.session.commit()
    assert calls == [{f"thread:{thread.id}"}]


def test_answer_edit_and_tag_change_reindex(make, db):
    thread = make.thread(title="Scanner drivers for the office", tags=["drivers"])
    reply = make.reply(thread, body="Install the universal driver package.")
    forum_threads.edit_post(reply.author, reply, "Install the vendor's twain bundle instead.")
    db.session.commit()
    assert found("twain bundle", thread) and not found("universal package", thread)  # "driver" is in the title
    forum_threads.edit_post(thread.author, thread.question_post, thread.question_post.body, tags=["firmware"])
    db.session.commit()
    hit = search.search("scanner").results[0]
    assert hit.tags == ["firmware"]


def test_idea_documents_follow_the_expected_fields(app):
    """Ideas live on another branch; their document is built from the fields documented in documents.py."""
    from datetime import datetime
    from types import SimpleNamespace

    from community.search.documents import idea_document

    idea = SimpleNamespace(id=4, title="Dark mode for the mobile app", slug="dark-mode", body="x",
                           body_html="<p>Please add a <b>dark</b> theme.</p>", status="planned", vote_count=12,
                           category_id=2, category=SimpleNamespace(name="Mobile App"),
                           tags=[SimpleNamespace(name="ios")], merged_into_id=None,
                           created_at=datetime(2024, 1, 1), last_activity_at=datetime(2024, 2, 1),
                           comment_count=3, response_html="<p>On the roadmap.</p>")
    doc = idea_document(idea)
    assert doc["key"] == "idea:4" and doc["type"] == "idea" and doc["url"].startswith("/ideas/4")
    assert doc["question"] == "Please add a dark theme." and doc["accepted"] == "On the roadmap."
    assert doc["votes"] == 12 and doc["status"] == "planned" and doc["solved"] is False
    assert idea_document(SimpleNamespace(**{**vars(idea), "merged_into_id": 9})) is None
    assert idea_document(SimpleNamespace(**{**vars(idea), "hidden": True})) is None


def test_drift_names_missing_extra_and_stale_documents_on_either_backend(make, db):
    """``search.drift()`` (what ``flask check`` reports) compares ids and stored fields, so an
    index with the right count but the wrong documents, or old versions, is caught."""
    from sqlalchemy import text

    steady = make.thread(title="Bluetooth mouse lags on battery")
    with search.paused():
        lost = make.thread(title="Tablet will not charge past eighty percent")
    gone = make.thread(title="Question removed outside the app")
    db.session.execute(text("UPDATE threads SET hidden = :h WHERE id = :t"), {"h": True, "t": gone.id})
    db.session.execute(text("UPDATE threads SET title = 'Renamed by hand in SQL' WHERE id = :t"), {"t": steady.id})
    db.session.commit()
    assert search.count() == search.total() == 2
    assert search.drift() == {"missing": [f"thread:{lost.id}"], "extra": [f"thread:{gone.id}"],
                              "stale": [(f"thread:{steady.id}", ["title"])]}
    search.touch(f"thread:{lost.id}", f"thread:{gone.id}", f"thread:{steady.id}")
    assert search.drift() == {"missing": [], "extra": [], "stale": []}
