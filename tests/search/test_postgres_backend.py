"""The PostgreSQL search backend: documents in the writing transaction, shared by app instances,
prefix suggestions, failures as errors, bulk import, the migration.  (The rest of the search
tests run on it too: see ``conftest.py``.)"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from community import create_app, search
from community.models import Thread



@pytest.fixture()
def printer(make):
    return make.thread(title="Zebra printer ribbon keeps jamming", body="The ribbon jams after every label.")


def second_instance(app, tmp_path):
    """Another app on the same database with an instance folder (and index directory) of its own."""
    other = tmp_path / "other"
    other.mkdir()
    return create_app({"TESTING": True, "INSTANCE_PATH": str(other), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "SEARCH_BACKEND": "postgres", "SEARCH_INDEX_DIR": str(other / "index"),
                       "SECRET_KEY": "test", "RATELIMIT_ENABLED": False, "SERVER_NAME": "localhost",
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def test_two_instances_see_each_other_s_new_threads_at_once(app, make, tmp_path):
    other = second_instance(app, tmp_path)
    thread = make.thread(title="Label printer prints blank pages", body="Every label comes out blank.")
    response = other.test_client().get("/api/v1/suggest?q=blank+labels")
    assert response.status_code == 200
    assert [hit["id"] for hit in response.get_json()["results"]] == [thread.id]
    with other.app_context():  # a thread written through the other instance
        from community.extensions import db
        from community.services.forum import threads as forum_threads

        author = db.session.get(type(thread.author), thread.author_id)
        created = forum_threads.create_thread(author, db.session.get(type(thread.category), thread.category_id),
                                              "Scanner skips every second page",
                                              "The duplex scanner skips pages since Monday.", [])
        db.session.commit()
        created_id = created.id
        db.session.remove()
    assert [hit["id"] for hit in search.suggest("duplex scanner")] == [created_id]


def test_documents_are_written_in_the_writing_transaction(app, make, db, printer):
    thread = make.thread(title="Keyboard backlight never turns off")
    rows = db.session.execute(text("SELECT key, title, solved FROM search_documents ORDER BY key")).all()
    assert [tuple(r) for r in rows] == [(f"thread:{printer.id}", printer.title, False),
                                        (f"thread:{thread.id}", thread.title, False)]
    thread.title = "Keyboard backlight stays on at night"
    db.session.flush()
    db.session.rollback()  # nothing committed: the document is unchanged
    assert db.session.execute(text("SELECT title FROM search_documents WHERE key = :k"),
                              {"k": f"thread:{thread.id}"}).scalar_one() == "Keyboard backlight never turns off"


def test_suggestions_follow_typing_by_prefix(app, printer):
    assert [hit["id"] for hit in search.suggest("zebra rib")] == [printer.id]
    assert [hit["id"] for hit in search.suggest("jamm")] == [printer.id]
    assert search.suggest("zz") == [] and search.suggest("") == []
    assert search.suggest("!!! ) ( :* & | ''") == []  # tsquery syntax is never parsed from input


def test_a_database_failure_is_an_error_never_an_empty_result(app, client, db, printer):
    db.session.commit()
    db.session.execute(text("ALTER TABLE search_documents RENAME TO search_documents_gone"))
    db.session.commit()
    try:
        with pytest.raises(search.SearchUnavailable):
            search.suggest("zebra ribbon")
        with pytest.raises(search.SearchUnavailable):
            search.search("zebra ribbon")
        assert client.get("/api/v1/suggest?q=zebra+ribbon").status_code == 503
        assert client.get("/search?q=zebra+ribbon").status_code == 503
    finally:
        db.session.execute(text("ALTER TABLE search_documents_gone RENAME TO search_documents"))
        db.session.commit()
    assert search.suggest("zebra ribbon")[0]["id"] == printer.id


def test_rebuild_and_status_commands(app, db, printer):
    db.session.execute(text("DELETE FROM search_documents"))
    db.session.commit()
    runner = app.test_cli_runner()
    assert "Index: 0 documents; database: 1 searchable." in runner.invoke(args=["search", "status"]).output
    assert "Indexed 1 documents" in runner.invoke(args=["search", "rebuild"]).output
    assert "Index: 1 documents; database: 1 searchable." in runner.invoke(args=["search", "status"]).output


def test_import_writes_documents_with_the_rows(app, db, tmp_path):
    lines = [{"external_id": f"pg-{n}", "title": f"Projector number {n} loses its signal",
              "body": "The projector loses the HDMI signal after a minute.", "author": "ana",
              "category": "Hardware", "answers": [{"body": "Replace the cable.", "author": "bo", "accepted": True}]}
             for n in range(5)]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = app.test_cli_runner().invoke(args=["import", str(path), "--batch-size", "2"])
    assert "Imported 5 threads" in result.output and "indexed 5" in result.output
    assert search.count() == 5
    hit = search.suggest("projector hdmi signal")[0]
    assert hit["solved"] and hit["snippet"] == "Replace the cable."
    assert db.session.query(Thread).count() == 5


def test_an_import_that_died_before_its_documents_were_written_is_completed_by_the_next(app, db, tmp_path,
                                                                                         monkeypatch):
    from community.search import postgres_bulk

    lines = [{"external_id": f"pg-{n}", "title": f"Scanner number {n} skips pages", "body": "It skips pages.",
              "author": "ana", "category": "Hardware"} for n in range(5)]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    runner = app.test_cli_runner()
    with monkeypatch.context() as patch:  # the documents never reach the table
        patch.setattr(postgres_bulk.PostgresBulkIndexer, "add", lambda self, docs: 0)
        assert "indexed 0" in runner.invoke(args=["import", str(path), "--batch-size", "2"]).output
    assert search.count() == 0
    again = runner.invoke(args=["import", str(path), "--batch-size", "2"]).output
    assert "skipped 5" in again and "indexed 5" in again
    assert "indexed 0" in runner.invoke(args=["import", str(path), "--batch-size", "2"]).output
    assert search.count() == 5 and db.session.query(Thread).count() == 5


def test_a_member_s_edit_indexed_before_the_import_s_document_is_kept(app, db):
    """An imported thread edited between its batch's commit and its document's write: the
    edit's document (written from the database) stays."""
    from community.search.postgres_bulk import PostgresBulkIndexer

    state = app.extensions["search"]
    old = {"key": "thread:7", "type": "thread", "id": 7, "url": "/t/7", "title": "Imported title",
           "category_id": "1", "prior": 1000, "votes": 0, "replies": 0, "solved": False}
    state._upsert(db.session, [dict(old, title="Edited title")])
    db.session.commit()
    indexer = PostgresBulkIndexer(state, db.engine)
    assert indexer.add([old, dict(old, key="thread:8", id=8, title="Another imported title")]) == 2
    indexer.close()
    titles = db.session.execute(text("SELECT key, title FROM search_documents ORDER BY key")).all()
    assert [tuple(row) for row in titles] == [("thread:7", "Edited title"), ("thread:8", "Another imported title")]


def _gin_pending_limits(connection) -> dict[str, str | None]:
    return dict(connection.execute(text(
        "SELECT relname, array_to_string(reloptions, ',') FROM pg_class WHERE relname LIKE 'search_%'"
        " AND relam = (SELECT oid FROM pg_am WHERE amname = 'gin')")).all())


def test_an_import_writes_its_documents_with_long_pending_lists_and_the_app_with_short_ones(app, db, monkeypatch):
    """The documents' GIN indexes take the writing session's limit (no storage parameter):
    the import's writer 4 MB, every other connection of the app 64 kB."""
    from community.search import postgres_bulk, postgres_schema

    seen = []
    write = postgres_bulk.PostgresBulkIndexer._write

    def recording(self, connection, docs):
        seen.append(connection.execute(text("SHOW gin_pending_list_limit")).scalar())
        write(self, connection, docs)

    monkeypatch.setattr(postgres_bulk.PostgresBulkIndexer, "_write", recording)
    indexer = postgres_bulk.PostgresBulkIndexer(app.extensions["search"], db.engine)
    indexer.add([{"key": "thread:9", "type": "thread", "id": 9, "url": "/t/9", "title": "Imported title"}])
    indexer.close()
    assert seen == ["4MB"]
    assert _gin_pending_limits(db.session) == {name: None for name in postgres_schema.GIN_INDEXES}
    connections = [db.engine.connect() for _ in range(3)]  # the writer's among them, back in the pool
    try:
        assert {c.execute(text("SHOW gin_pending_list_limit")).scalar() for c in connections} == {"64kB"}
    finally:
        for connection in connections:
            connection.close()


def test_a_failed_document_write_stops_the_import_with_its_error(app, db):
    from community.search.postgres_bulk import PostgresBulkIndexer

    indexer = PostgresBulkIndexer(app.extensions["search"], db.engine)
    indexer.add([{"key": "thread:9", "type": "thread", "id": 9, "url": "/t/9", "title": None}])  # NOT NULL
    with pytest.raises(Exception, match="null value"):
        indexer.close()
    with db.engine.connect() as connection:  # the writer's connection, back in the pool with its setting
        assert connection.execute(text("SHOW gin_pending_list_limit")).scalar() == "64kB"


def test_migration_creates_the_table_and_its_index_only_on_postgresql(app, db):
    import flask_migrate

    search.drop_schema()
    db.drop_all()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()
    db.session.remove()
    flask_migrate.upgrade()
    try:
        found = db.session.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents' ORDER BY indexname")).scalars().all()
        assert found == ["search_documents_active", "search_documents_created", "search_documents_newest",
                         "search_documents_pkey", "search_documents_title_stems", "search_documents_title_words",
                         "search_documents_vector", "search_documents_votes"]
        # The trigram index no query reads is gone (migration a4f9c2e7b1d3): only the words' key.
        assert db.session.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'search_terms'")).scalars().all() == ["search_terms_pkey"]
        kind = db.session.execute(text("SELECT is_generated FROM information_schema.columns "
                                       "WHERE table_name = 'search_documents' AND column_name = 'vector'")).scalar_one()
        assert kind == "ALWAYS"
        db.session.remove()
        flask_migrate.downgrade(revision="base")
        left = db.session.execute(text("SELECT count(*) FROM information_schema.tables "
                                       "WHERE table_schema = 'public' AND table_name <> 'alembic_version'")).scalar_one()
        assert left == 0
    finally:
        db.session.remove()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()


def _row_layout(db) -> tuple[list, dict]:
    options = db.session.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'search_documents'")).scalar()
    storage = dict(db.session.execute(text(
        "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'search_documents'::regclass"
        " AND attname IN ('title_words', 'title_stems', 'question', 'answers')")).all())
    return options, storage


def test_long_texts_go_out_of_the_row_and_title_vectors_stay_in_it(app, make, db):
    """Migration e7b3d5f9a2c4 and the schema the backend creates: the same row layout, and a
    long thread's row in the heap is a fraction of its text (its texts are in the TOAST table)."""
    import flask_migrate

    assert _row_layout(db) == (["toast_tuple_target=512"], {"title_words": "m", "title_stems": "m",
                                                            "question": "x", "answers": "x"})
    import random

    rng = random.Random(5)
    for n in range(16):  # texts that compress little (pglz would keep repeated words in the row)
        body = " ".join("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(180))
        make.reply(make.thread(title=f"Zebra printer ribbon keeps jamming {n}", body=body), body=body)
    db.session.commit()
    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM FULL search_documents")  # only the live rows (earlier tests' are dead)
    heap, rows, texts = db.session.execute(text(
        "SELECT pg_relation_size('search_documents'), count(*), min(octet_length(question) + octet_length(answers))"
        " FROM search_documents")).one()
    # ~2 kB a row in the row when the long texts stayed in it (4 rows a page: 4 pages); ~0.4 kB now.
    assert rows == 16 and texts > 2000 and heap <= 2 * 8192
    db.session.remove()
    search.drop_schema()
    db.drop_all()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()
    db.session.remove()
    flask_migrate.upgrade(revision="b8d4f2a6c1e3")
    try:
        assert _row_layout(db) == (None, {"title_words": "x", "title_stems": "x", "question": "x", "answers": "x"})
        db.session.remove()
        flask_migrate.upgrade()
        assert _row_layout(db)[0] == ["toast_tuple_target=512"]
        assert _row_layout(db)[1]["title_stems"] == "m"
    finally:
        db.session.remove()
        flask_migrate.downgrade(revision="base")
        db.session.remove()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
        search.create_schema()


def test_snippets_are_ts_headline_passages_with_marks_escaped(app, make, db):
    body = ("Intro words that say nothing much at all about it. " * 8
            + "The <b>ribbon</b> & cartridge jam when printing labels. " + "Closing words here. " * 10)
    thread = make.thread(title="Ribbon jams in the label printer", body=body)
    hit = search.search("ribon jam").results[0]  # "ribon": corrected to "ribbon", marked as such
    assert hit.id == thread.id
    html = str(hit.snippet_html)
    assert "<mark>ribbon</mark>&lt;/b&gt; &amp; cartridge <mark>jam</mark> when" in html
    assert html.startswith("…") and html.endswith("…") and "<b>" not in html
    assert str(hit.title_html) == "<mark>Ribbon</mark> <mark>jams</mark> in the label printer"
    suggestion = search.suggest("ribon jam")[0]
    assert suggestion["id"] == thread.id and "<mark>" not in suggestion["snippet"]
    assert "ribbon</b> & cartridge jam" in suggestion["snippet"] and suggestion["snippet"].startswith("…")


def test_the_table_of_words_is_refreshed_by_rebuild_and_import_and_when_stale(app, make, db):
    from community.search import postgres_terms

    make.thread(title="Thermal printer smudges", body="Smudges on every receipt.")
    db.session.execute(text("DELETE FROM search_terms"))
    db.session.commit()
    search.rebuild()
    assert db.session.execute(text("SELECT ndoc FROM search_terms WHERE term = 'smudg'")).scalar() == 1
    state = app.extensions["search"]
    with db.engine.begin() as connection:  # fresh: not refreshed again; stale: refreshed
        assert postgres_terms.refresh(connection, max_age=3600) is False
    db.session.execute(text("UPDATE search_terms_refreshed SET at = now() - interval '2 hours'"))
    db.session.commit()
    make.thread(title="Smudges again on the receipts", body="Still smudges on every receipt.")
    with db.engine.begin() as connection:
        assert postgres_terms.refresh(connection, max_age=3600) is True
    assert db.session.execute(text("SELECT ndoc FROM search_terms WHERE term = 'smudg'")).scalar() == 2
    state.refresh_terms()  # what `flask import` calls at its end
    assert state._stats is None
    # The GIN indexes' pending lists (which every search reads whole) are short and merged then.
    make.thread(title="Smudges after the cartridge change", body="New smudges since the cartridge change.")
    with db.engine.begin() as connection:
        assert postgres_terms.merge_pending(connection) > 0
        assert postgres_terms.merge_pending(connection) == 0


def test_one_edit_is_damerau_levenshtein_one():
    from community.search.postgres_terms import one_edit

    assert all(one_edit("printer", w) for w in ("printr", "printerr", "prinzer", "pritner", "xprinter"))
    assert not any(one_edit("printer", w) for w in ("printer", "pritnre", "prnter s", "prin", "rpitner"[::-1]))


def test_corrections_from_the_snapshot_are_the_known_word_one_edit_away_with_most_documents():
    """Every string one edit away looked up in the snapshot gives what testing every known word
    with ``one_edit`` gives: the first letter kept, the most documents, ties by the lexeme."""
    from community.search.postgres_terms import corrections, letters, one_edit

    known = {"printer": 40, "printed": 40, "pointer": 90, "sprinter": 500, "print": 7, "printers": 3,
             "c++": 2, "prin_er": 1, "printér": 60, "rinter": 900, "pr1nter": 80}
    stems = ["printxr", "printe", "prinetr", "rprinter", "prinzer", "printerx", "pxintxr", "princer", "prlnter"]
    brute = {}
    for stem in stems:
        near = sorted((-n, term) for term, n in known.items() if term[0] == stem[0] and one_edit(stem, term))
        if near:
            brute[stem] = near[0][1]
    assert corrections(stems, known, letters(known)) == brute
    assert brute["printxr"] == "printér" and brute["prlnter"] == "pr1nter"  # edits bring in any known character
    assert brute["printe"] == "printed" and brute["prinetr"] == "printer"  # a tie goes to the lexeme; a swap
    assert "pxintxr" not in brute and "rprinter" not in brute  # two edits; the first letter's


def test_learned_evidence_finds_its_thread_on_postgres_too(app, make, db, printer):
    """A visitor's confirmed words are in the thread's ``learned`` column, searched at weight D
    (migration d8f1b3c5e7a9), so what a visitor called the problem finds it on both backends."""
    from community.models import utcnow
    from community.services.learning import evidence

    assert search.suggest("smudged stickers") == []
    assert evidence.vote(printer.id, "visitor:1", "confirmed", "smudged stickers", utcnow())
    db.session.commit()
    assert db.session.execute(text("SELECT learned FROM search_documents WHERE key = :k"),
                              {"k": f"thread:{printer.id}"}).scalar_one() == "smudged stickers . smudged stickers"
    assert [hit["id"] for hit in search.suggest("smudged stickers")] == [printer.id]


def test_words_on_postgresql_s_own_stop_list_match_as_in_whoosh(app, make):
    """PostgreSQL's English stop list drops "how", "before", "after", "who"; the Whoosh analyzer
    keeps them, and so does the index now: only the analyzer's own stop words are left out."""
    timing = make.thread(title="How much time before closing a question", body="A policy question about when to close.")
    make.thread(title="Closing a question", body="A policy question about closing.")
    assert search.suggest("how long before closing")[0]["id"] == timing.id
    assert search.suggest("the a of") == []  # the analyzer's stop words alone: nothing to look for


def test_a_word_s_document_count_is_its_most_in_one_field(app, make, db):
    """As the Whoosh backend takes the largest of its fields' document frequencies: a word in one
    title, another question and a third thread's answer is in 1 document per field, not 3 (over
    whole rows "answer" was near-universal on a Q&A site and left out of queries)."""
    make.thread(title="Ribbon smudges on labels", body="Every label is smudged.")
    make.thread(title="Labels are blank", body="The ribbon seems fine but labels stay blank.")
    third = make.thread(title="Printer feeds two labels", body="Two labels come out at once.")
    make.reply(third, body="Check the ribbon tension.")
    search.rebuild()
    counts = {term: (ndoc, nrow) for term, ndoc, nrow in db.session.execute(text(
        "SELECT term, ndoc, nrow FROM search_terms WHERE term IN ('ribbon', 'label')"))}
    assert counts == {"ribbon": (1, 3), "label": (3, 3)}
    # The two-stage plan's bound is the rows a word selects (all three), not its count in one class.
    state = app.extensions["search"]
    assert state._tsquery("ribbon", prefix=False).bound == 3
    assert state._tsquery("ribbon labels", prefix=False).bound == 6


def test_the_window_is_scored_again_with_the_title_phrase_bonus(app, make, monkeypatch):
    """The SQL rank (no phrase, one length for the whole row) puts the short thread with more
    "jam" first; the rescoring (``postgres_rescore``) gives the title holding the words in order
    the Whoosh ranker's phrase bonus."""
    from community.search import postgres_rescore

    phrase = make.thread(title="Ribbon jam at startup", body="It stops at startup. " + "The printer then waits. " * 30)
    other = make.thread(title="Jam after changing the ribbon", body="It jams at startup, a jam every time.")
    monkeypatch.setattr(postgres_rescore, "WINDOW", 0)
    assert [hit["id"] for hit in search.suggest("ribbon jam")] == [other.id, phrase.id]
    monkeypatch.setattr(postgres_rescore, "WINDOW", 100)
    assert [hit["id"] for hit in search.suggest("ribbon jam")] == [phrase.id, other.id]


def test_two_stage_ranking_finds_what_the_exact_ranking_finds_on_a_small_site(app, make, monkeypatch):
    """With every query forced through the candidate sets (``postgres_plan``), a small site's
    suggestions and first page are the exact ranking's: each set holds all of its few matches."""
    from community.search import postgres_plan

    made = [make.thread(title=title, body=body) for title, body in (
        ("Printer shows offline after the update", "Since the update the printer is offline on Windows."),
        ("Scanner offline", "The scanner says offline but prints a test page."),
        ("Invoice shows the wrong address", "The printer address on my invoice is the old one."),
        ("How do I reset the offline cache", "Clearing the cache did not help."),
    )]
    queries = ("printer offline update", "offline", "invoice printer address", "offline cache reset", "prin")
    exact = {q: ([h["id"] for h in search.suggest(q)], [h.id for h in search.search(q).results],
                 search.search(q).total) for q in queries}
    by_date = {(q, sort): [h.id for h in search.search(q, sort=sort, per_page=2, page=2).results]
               for q in queries for sort in ("newest", "active", "votes", "nonsense")}
    assert exact["printer offline update"][0][0] == made[0].id
    monkeypatch.setattr(postgres_plan, "EXACT_ROWS", -1)
    monkeypatch.setattr(postgres_plan, "TIER_ROWS", 10)
    monkeypatch.setattr(postgres_plan, "RARE_ROWS", 1)
    monkeypatch.setattr(postgres_plan, "SUGGEST_OTHER_ROWS", 10)
    monkeypatch.setattr(postgres_plan, "SUGGEST_RARE_ROWS", 1)
    for q in queries:
        staged = search.search(q)
        assert ([h["id"] for h in search.suggest(q)], [h.id for h in staged.results], staged.total) == exact[q], q
        assert not staged.more
        for sort in ("newest", "active", "votes", "nonsense"):
            assert [h.id for h in search.search(q, sort=sort, per_page=2, page=2).results] == by_date[q, sort], (q, sort)
    # Every selection taken as dense: the first matches read in table order, not through the index.
    monkeypatch.setattr(postgres_plan, "DENSE_SHARE", 0.0)
    for q in queries:
        staged = search.search(q)
        assert ([h["id"] for h in search.suggest(q)], [h.id for h in staged.results], staged.total) == exact[q], q
        for sort in ("newest", "active", "votes"):
            assert [h.id for h in search.search(q, sort=sort, per_page=2, page=2).results] == by_date[q, sort], (q, sort)


def test_sorted_by_votes_the_last_count_s_best_ranked_rows_are_candidates(app, make, db, monkeypatch):
    """By votes the candidates are the first matches in vote order, plus the best-ranked rows
    among those holding the last count: many rows share a count, and the rank orders them."""
    from community.search import postgres_plan

    made = [make.thread(title=f"Router {n} drops wifi" if n != 5 else "Wifi router drops wifi, router resets",
                        body="The router drops the wifi connection every hour.") for n in range(8)]
    db.session.execute(text("UPDATE search_documents SET votes = 3 WHERE key = :k"), {"k": f"thread:{made[7].id}"})
    db.session.commit()
    exact = [h.id for h in search.search("router wifi", sort="votes").results]
    assert exact[:2] == [made[7].id, made[5].id]  # 3 votes first, then the best match of the 0-vote rows
    monkeypatch.setattr(postgres_plan, "EXACT_ROWS", -1)
    monkeypatch.setattr(postgres_plan, "TIER_ROWS", 1)
    monkeypatch.setattr(postgres_plan, "RARE_ROWS", 0)
    assert [h.id for h in search.search("router wifi", sort="votes", per_page=2).results] == exact[:2]


def test_two_stage_search_page_counts_up_to_a_cap(app, client, make, monkeypatch):
    from community.search import postgres_plan

    for n in range(4):
        make.thread(title=f"Router number {n} drops wifi", body="The router drops the connection.")
    monkeypatch.setattr(postgres_plan, "EXACT_ROWS", -1)
    monkeypatch.setattr(postgres_plan, "COUNT_ROWS", 3)
    found = search.search("router wifi")
    assert (found.total, found.more, len(found.results)) == (3, True, 4)
    assert "3+ results for" in client.get("/search?q=router+wifi").get_data(as_text=True)
    monkeypatch.setattr(postgres_plan, "COUNT_ROWS", 4)
    found = search.search("router wifi")
    assert (found.total, found.more) == (4, False)


def test_a_word_postgresql_splits_counts_as_its_rarest_part():
    from community.search.postgres import _frequency
    from community.search.postgres_query import Lexeme

    frequencies = {"doesn": 40, "t": 900, "print": 7}
    assert _frequency("doesn't", frequencies) == 40  # was 0: the rarest word of any query
    assert _frequency("printing", frequencies) == 7
    assert _frequency("zzz'", frequencies) == 0
    # Parts the Whoosh analyzer drops are lexemes of the index all the same (was 0: "i'm" selected).
    assert _frequency("i'm", {"i": 800, "m": 300}) == 300
    assert _frequency("it's", {"it": 800, "s": 900}) == 800
    assert _frequency(Lexeme.of("print", typed="pritn"), frequencies) == 7


def test_hits_read_from_the_vector_s_text_are_what_unnest_gives(app, make, db):
    """The rescoring reads the query's lexemes from ``CAST(vector AS text)`` (``postgres_rescore.hits``)
    instead of ``unnest(vector)``: for every lexeme of real rows, the same positions and weights."""
    from community.search import postgres_rescore

    make.thread(title="Printer's ribbon jams: it doesn't feed", body="C:\\temp\\spool and /usr/lib/x.so hold the job; mail e@x.com, see http://a.b/c?d=1 (v2.1, foo-bar).")
    make.thread(title="Ribbon ribbon ribbon", body="Ribbon ribbon " * 40)
    rows = db.session.execute(text("SELECT CAST(vector AS text) AS t, (SELECT json_agg(json_build_array("
                                   "u.lexeme, u.positions, u.weights)) FROM unnest(vector) AS u) AS u"
                                   " FROM search_documents")).all()
    every = [lexeme for _text, unnested in rows for lexeme, _positions, _weights in unnested]
    assert {"/usr/lib", "a.b/c"} <= set(every), every  # lexemes of odd characters
    for vector_text, unnested in rows:
        lexemes = [lexeme for lexeme, _positions, _weights in unnested]
        assert postgres_rescore.hits(vector_text, lexemes) == [list(item) for item in unnested]
    # The text the rescoring reads is kept to the query's lexemes: the same hits for them.
    for vector_text, unnested in rows:
        wanted = sorted({lexeme for lexeme, _p, _w in unnested[::2]} | {"doesn't", "absent"})
        kept = db.session.execute(text(f"SELECT {postgres_rescore.hits_sql()} FROM search_documents"
                                       " WHERE CAST(vector AS text) = :t"), {"t": vector_text, "lexemes": wanted}).scalar_one()
        assert len(kept) < len(vector_text)
        assert postgres_rescore.hits(kept, wanted) == postgres_rescore.hits(vector_text, wanted)
        assert sorted(postgres_rescore.hits(kept, wanted)) == sorted(list(item) for item in unnested if item[0] in wanted)


def test_a_suggestion_s_unranked_candidate_sets_are_smaller_than_the_search_page_s():
    """A suggestion takes fewer "first other matches" and brings every document only of rarer
    words (``SUGGEST_OTHER_ROWS``, ``SUGGEST_RARE_ROWS``): each candidate costs its vector read and
    ranked; the search page keeps ``TIER_ROWS`` and ``RARE_ROWS``."""
    from community.search import postgres_plan
    from community.search.postgres_query import tsquery

    counts = {"printer": 15_000, "jam": 200, "ribbon": 100}
    built = tsquery(["printer", "jam", "ribbon"], prefix=False, df=counts.get, common_df=20_000, documents_total=100_000)
    assert postgres_plan.SUGGEST_RARE_ROWS < 200 <= postgres_plan.RARE_ROWS
    page = postgres_plan.candidates(built, "", documents=1_000_000)
    suggestion = postgres_plan.candidates(built, "", documents=1_000_000, suggestion=True)
    assert page.count(f"LIMIT {postgres_plan.RARE_ROWS})") == 2  # "jam" and "ribbon" bring all theirs
    assert suggestion.count(f"LIMIT {postgres_plan.SUGGEST_RARE_ROWS})") == 1  # "ribbon" only
    others = f"vector @@ ({built.sel}) LIMIT"
    assert f"{others} {postgres_plan.TIER_ROWS})" in page
    assert f"{others} {postgres_plan.SUGGEST_OTHER_ROWS})" in suggestion and f"{others} {postgres_plan.TIER_ROWS})" not in suggestion


def test_dense_selections_scan_in_table_order_unless_common_words_are_and_ed():
    """One common-enough selecting word reads its first matches in table order (no index builds
    the bitmap of 50,000 rows first), a common word alone too; the rarest three AND-ed when every word is common go
    through the index, which intersects their lists (the scan read 12,434 buffers for
    "place & look" at 100,000 threads: their AND holds far fewer rows than either word)."""
    from community.search import postgres_plan
    from community.search.postgres_query import tsquery

    counts = {"place": 20_000, "look": 30_000, "printer": 15_000, "jam": 500}
    common = tsquery(["place", "look"], prefix=False, df=counts.get, common_df=2_000, documents_total=100_000)
    assert common.all_of and common.bound == 20_000
    assert "ts_match_vq" not in postgres_plan.candidates(common, "", documents=100_000)
    some = tsquery(["printer", "jam", "look"], prefix=False, df=counts.get, common_df=20_000, documents_total=100_000)
    assert not some.all_of and some.bound == 15_500
    assert "ts_match_vq" in postgres_plan.candidates(some, "", documents=100_000)
    assert "ts_match_vq" not in postgres_plan.candidates(some, "", documents=1_000_000)
    # One common word alone (the others stop words): its AND is itself, as many rows as its bound.
    alone = tsquery(["look"], prefix=False, df=counts.get, common_df=2_000, documents_total=100_000)
    assert alone.all_of and alone.bound == 30_000
    assert "ts_match_vq" in postgres_plan.candidates(alone, "", documents=100_000)
    assert "ts_match_vq" not in postgres_plan.candidates(alone, "", documents=1_000_000)


def _stale_table_of_words(app, make, db):
    """One thread indexed, then ``search_terms`` made two hours old and this process's snapshot
    forgotten: the next query finds the table stale.  Returns the thread and the backend."""
    thread = make.thread(title="Thermal printer smudges", body="Smudges on every receipt.")
    search.rebuild()
    state = app.extensions["search"]
    state._stats = None
    db.session.execute(text("UPDATE search_terms_refreshed SET at = now() - interval '2 hours'"))
    db.session.commit()
    return thread, state


def test_a_stale_table_of_words_is_refreshed_off_the_request_which_uses_the_last_one(app, make, db, monkeypatch):
    """The request that finds ``search_terms`` stale answers at once from the last table (ranked
    and corrected as before) while one background refresh runs; the next snapshot reads the new one."""
    import threading
    import time

    from community.search import postgres_terms

    thread, state = _stale_table_of_words(app, make, db)
    before = db.session.execute(text("SELECT count(*) FROM search_terms")).scalar()
    release, entered, real = threading.Event(), threading.Event(), postgres_terms.refresh
    calls = []

    def slow_refresh(connection, **kwargs):  # a refresh that takes as long as the test says
        calls.append(kwargs)
        entered.set()
        assert release.wait(30)
        return real(connection, **kwargs)

    monkeypatch.setattr(postgres_terms, "refresh", slow_refresh)
    started = time.monotonic()
    assert [s["id"] for s in search.suggest("smudgse")] == [thread.id]  # a typo: corrected from the last table
    assert search.search("printer smudges").results[0].id == thread.id
    assert entered.wait(10) and time.monotonic() - started < 10  # answered while the refresh waits
    state._stats = None  # another snapshot while it runs starts no second refresh in this process
    search.suggest("printer")
    assert len(calls) == 1 and not state.wait_for_refresh(0)
    release.set()
    assert state.wait_for_refresh(30) and state._stats is None
    fresh = db.session.execute(text("SELECT at > now() - interval '1 minute' FROM search_terms_refreshed")).scalar()
    assert fresh and db.session.execute(text("SELECT count(*) FROM search_terms")).scalar() == before
    assert calls == [{"max_age": state.stats_seconds}]
    search.suggest("printer")  # fresh now: nothing more to refresh
    assert state.wait_for_refresh(10) and len(calls) == 1


def test_a_refresh_held_by_another_process_is_not_waited_for(app, make, db):
    """Another process holds the refresh lock: the stale table's request answers, its background
    refresh gives up at once (the other one is doing it) and the table is left as it was."""
    from community.search import postgres_terms

    thread, state = _stale_table_of_words(app, make, db)
    with db.engine.begin() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": postgres_terms.LOCK_KEY})
        assert [s["id"] for s in search.suggest("smudges")] == [thread.id]
        assert state.wait_for_refresh(10)
    stale = db.session.execute(text("SELECT at < now() - interval '1 hour' FROM search_terms_refreshed")).scalar()
    assert stale and state._stats is not None


def test_search_terms_command_refreshes_the_table(app, make, db):
    make.thread(title="Thermal printer smudges", body="Smudges on every receipt.")
    db.session.execute(text("DELETE FROM search_terms"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["search", "terms"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Refreshed the table of words: ")
    db.session.rollback()
    assert db.session.execute(text("SELECT ndoc FROM search_terms WHERE term = 'smudg'")).scalar() == 1


def test_reading_statements_reach_the_driver_as_text_would_send_them(app, make, monkeypatch):
    """``postgres.DRIVER_SQL``: the statements skip SQLAlchemy's ``text()`` compilation, with the
    same parameters (casts and percent signs left alone) and the same answers."""
    from sqlalchemy.dialects import postgresql

    from community.search import postgres

    statement = "SELECT ''::tsvector, CAST(:w0 AS text[]), x::int, '5%' LIKE :t_1, f(:w0) WHERE a = :b:c"
    compiled = str(text(statement).compile(dialect=postgresql.psycopg.dialect()))
    assert postgres.driver_sql(statement) == compiled
    assert postgres.driver_sql(statement) == ("SELECT ''::tsvector, CAST(%(w0)s AS text[]), x::int, '5%%' LIKE %(t_1)s,"
                                              " f(%(w0)s) WHERE a = :b:c")
    for n in range(3):
        make.thread(title=f"Zebra printer ribbon keeps jamming {n}", body="The ribbon jams after every label.")
    asked = [search.suggest("zebra ribon jams"), search.search("printer ribbon").results, search.suggest("zeb")]
    monkeypatch.setattr(postgres, "DRIVER_SQL", False)
    assert [search.suggest("zebra ribon jams"), search.search("printer ribbon").results, search.suggest("zeb")] == asked
    assert asked[0] and asked[1] and asked[2]


def test_a_full_lexeme_cache_is_emptied_before_the_query_s_words_are_looked_up(app, monkeypatch):
    """The per-process cache of each word's lexemes (what the rescoring scores) is emptied when
    full; emptied after the missing words were chosen, a word cached before lost its lexemes for
    that query (its rescoring left it out)."""
    from community.search import postgres

    state = app.extensions["search"]
    monkeypatch.setattr(postgres, "LEXEME_CACHE_SIZE", 1)
    with state.app.app_context():
        from community.extensions import db

        with db.engine.begin() as connection:
            assert state._lexemes(connection, ["printers", "jammed"]) == {"printers": ("printer",), "jammed": ("jam",)}
            # Two words cached, more than the size: emptied, and both words of this query looked up.
            assert state._lexemes(connection, ["printers", "ribbons"]) == {"printers": ("printer",), "ribbons": ("ribbon",)}
            assert set(state._lexeme_cache) == {"printers", "ribbons"}


def test_a_reply_s_document_update_is_queued_and_applied_after_the_commit_a_new_or_hidden_thread_is_not(
        app, make, db, monkeypatch):
    """PostgreSQL search (search/queue.py ``TableQueue``): a reply, a vote or an edit updates an
    existing document after the commit, off the request; a new thread and a hidden one are written
    in their own transaction (suggested, or gone, the moment they commit)."""
    queue = app.extensions["search"].queue
    monkeypatch.setattr(queue, "sync", False)            # as in production: after the commit...
    monkeypatch.setattr(queue, "wake", lambda: None)     # ... by an applier this test runs itself

    def queued():
        return db.session.execute(text("SELECT key FROM search_queue ORDER BY id")).scalars().all()

    def document(key):
        return db.session.execute(text("SELECT title, replies FROM search_documents WHERE key = :k"),
                                  {"k": key}).first()

    thread = make.thread(title="Label printer prints blank pages", body="Every label comes out blank.")
    key = f"thread:{thread.id}"
    assert queued() == [] and tuple(document(key)) == ("Label printer prints blank pages", 0)
    make.reply(thread, body="Replace the thermal ribbon.")
    make.reply(thread, body="Or clean the print head.")
    assert queued() == [key, key] and tuple(document(key)) == ("Label printer prints blank pages", 0)
    assert search.pending() == 2
    assert search.apply_pending() == 1                   # one document for both rows
    assert queued() == [] and tuple(document(key)) == ("Label printer prints blank pages", 2)
    thread = db.session.get(Thread, thread.id)
    thread.hidden = True
    db.session.commit()
    assert queued() == [] and document(key) is None      # gone in the hiding transaction


def test_the_ranking_s_copy_of_each_vector_is_the_stored_vector(app, make, db):
    """``postgres_plan.ranked`` reads each row's vector once into ``v`` (``VECTOR_COPY``), which
    every rank and match of the query reads: the same lexemes, positions and weights as stored."""
    from community.search import postgres_plan

    thread = make.thread(title="Printer ribbon jams", body="The ribbon jams after every label; the printer is offline.")
    make.reply(thread, body="Check the ribbon tension and the printer driver.")
    make.thread(title="Scanner offline", body="Offline since the update.")
    rows = db.session.execute(text(f"SELECT v::text AS copy, vector::text AS stored"
                                   f" FROM {postgres_plan.ranked('key, vector', 'true')} AS d")).all()
    assert len(rows) == 2 and all(row.copy == row.stored for row in rows)
    # (weights A title, B question, D other answers: D is written without a letter)
    assert any("'ribbon':2A" in row.copy and "B" in row.copy and "'tension':" in row.copy for row in rows)


def test_each_word_s_rank_computed_once_gives_the_same_rank_to_the_last_bit(app, make, db):
    """``postgres_query.RANK_ONCE``: each word's ``ts_rank`` is a column computed once a row and the
    rank is summed from the columns, the query coverage read from ``ts_rank > 0`` for a word of one
    lexeme or OR-ed lexemes only.  "doesn't" is 'doesn' & 't': a title holding 'doesn' alone ranks it
    above 0 (the lexemes found) though it does not hold it (``@@``), so its coverage stays ``@@``."""
    from community.search import postgres_query
    from community.search.postgres_query import Lexeme, rank_columns, rank_of_columns, tsquery

    make.thread(title="Printer doesn work after the update", body="Nothing prints since Monday.")
    make.thread(title="Printer doesn't print", body="It doesn't feed paper.")
    make.thread(title="Scanner jams", body="The printer jams too.")
    words = ["printer", "doesn't", Lexeme.of("jam", typed="jmas")]
    built = tsquery(words, prefix=False, df=lambda word: 1, documents_total=3, column="v")
    assert built.one_or == [True, False, True]
    assert postgres_query._one_or("printer") and not postgres_query._one_or("e-mail")
    assert not postgres_query._one_or(Lexeme.of("e0382", typed="e0328"))

    def ranks(rank_sql: str, columns: str = "") -> list:
        return db.session.execute(text(
            f"SELECT key, {rank_sql} AS rank FROM (SELECT key, v{columns} FROM (SELECT key, vector AS v"
            " FROM search_documents) AS d OFFSET 0) AS d ORDER BY key"), built.params).all()

    exact = ranks(built.rank)
    assert len({rank for _key, rank in exact}) == 3  # each row ranked otherwise
    assert ranks(rank_of_columns(built, "v"), ", " + rank_columns(built, "v")) == exact
    wrong = built._replace(one_or=[True, True, True])  # "doesn't" read from its rank
    assert ranks(rank_of_columns(wrong, "v"), ", " + rank_columns(wrong, "v")) != exact


def test_suggestions_and_pages_answer_alike_with_each_word_s_rank_computed_once(app, make, monkeypatch):
    """The suggestion's ranking and the title set (``postgres_plan.title_tier``, forced here by two
    stages for every query) give the same answers and scores either way."""
    from community.search import postgres_plan, postgres_query

    for n, title in enumerate(("Printer doesn work after the update", "Printer doesn't print",
                               "Zebra printer ribbon keeps jamming", "Scanner jams on every page")):
        make.thread(title=title, body=f"Since Monday the printer and scanner jam {n} times.")
    monkeypatch.setattr(postgres_plan, "EXACT_ROWS", 0)
    queries = ["printer doesn't jam", "zebra ribon jams", "scanner printer every page", "pri"]
    asked = [(search.suggest(q), search.search(q).results) for q in queries]
    monkeypatch.setattr(postgres_query, "RANK_ONCE", False)
    assert [(search.suggest(q), search.search(q).results) for q in queries] == asked
    assert all(suggested for suggested, _page in asked)
