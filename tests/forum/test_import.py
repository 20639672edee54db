"""Bulk import: JSONL and Stack Exchange dumps, idempotency, bad lines, the index."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from community import search
from community.markup import render_markdown
from community.models import Category, Post, Thread, User, Vote
from community.services.forum.import_render import render_body, render_with_text

SE_DUMP = next((p for p in (Path(__file__).resolve().parents[4] / "shared/data/se-cstheory-meta",
                Path("/work/shared/data/se-cstheory-meta")) if p.exists()), Path("/nonexistent"))

GOOD = {
    "external_id": "kb-1", "title": "Printer shows offline after the update",
    "body": "Since updating, the printer shows **offline** on every laptop.",
    "author": "Dana Smith", "category": "Printing", "tags": ["Printer", "offline status"],
    "created_at": "2023-04-05T10:00:00Z",
    "answers": [
        {"body": "Remove the printer and add it again from Settings.", "author": "helper",
         "created_at": "2023-04-05T12:00:00+02:00", "accepted": True},
        {"body": "Same problem here.", "author": "Dana Smith", "created_at": "2023-04-06T09:00:00Z"},
    ],
}


def write_jsonl(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def run_import(app, *args):
    return app.test_cli_runner().invoke(args=["import", *map(str, args)], catch_exceptions=False)


def test_jsonl_import_creates_threads_users_categories_and_index(app, db, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [GOOD])
    result = run_import(app, path)
    assert result.exit_code == 0, result.output
    assert "Imported 1 threads (2 answers)" in result.output
    thread = db.session.execute(select(Thread).where(Thread.external_id == "kb-1")).scalar_one()
    assert thread.category.name == "Printing"
    assert [t.name for t in thread.tags] == ["offline-status", "printer"]
    assert thread.author.username == "Dana_Smith"
    assert thread.created_at.isoformat() == "2023-04-05T10:00:00"
    assert thread.reply_count == 2 and thread.solved
    assert thread.accepted_post.body.startswith("Remove the printer")
    assert thread.accepted_post.created_at.isoformat() == "2023-04-05T10:00:00"  # +02:00 -> UTC
    assert thread.solved_at == thread.accepted_post.created_at
    assert thread.last_activity_at.isoformat() == "2023-04-06T09:00:00"
    assert thread.question_post.body_html == render_markdown(GOOD["body"])
    assert "<strong>offline</strong>" in thread.question_post.body_html
    hit = search.suggest("printer offline")[0]
    assert hit["id"] == thread.id and hit["solved"] and "Remove the printer" in hit["snippet"]


def test_import_is_idempotent_on_external_id(app, db, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [GOOD, dict(GOOD, external_id="kb-2", title="Second printer question")])
    assert "Imported 2 threads" in run_import(app, path).output
    again = run_import(app, path)
    assert "Imported 0 threads" in again.output and "skipped 2 already imported" in again.output
    assert db.session.execute(select(func.count()).select_from(Thread)).scalar_one() == 2
    assert db.session.execute(select(func.count()).select_from(Post)).scalar_one() == 6
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 2
    assert db.session.execute(select(func.count()).select_from(Category)).scalar_one() == 1
    assert search.count() == 2


def test_an_import_that_fails_half_way_resumes_without_duplicates(app, db, tmp_path, monkeypatch):
    """A failure in the third batch (after two were committed): running the same import again
    adds only what is missing, once, and every thread is searchable (what the database
    committed before the failure was indexed too: the writer commits on the way out)."""
    from community.services.forum import importer

    lines = [dict(GOOD, external_id=f"kb-{n}", title=f"Resumed question {n} about scanners") for n in range(25)]
    path = write_jsonl(tmp_path / "in.jsonl", lines)
    real, calls = importer._write_batch, []

    def failing(batch, *args):
        calls.append(len(batch))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(batch, *args)

    monkeypatch.setattr(importer, "_write_batch", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        run_import(app, path, "--batch-size", "10")
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(Thread)).scalar_one() == 20
    monkeypatch.setattr(importer, "_write_batch", real)
    again = run_import(app, path, "--batch-size", "10")
    assert "Imported 5 threads" in again.output and "skipped 20 already imported" in again.output
    ids = db.session.execute(select(Thread.external_id)).scalars().all()
    assert sorted(ids) == sorted(f"kb-{n}" for n in range(25))  # each once
    assert db.session.execute(select(func.count()).select_from(Post)).scalar_one() == 25 * 3
    assert search.count() == 25
    assert {hit["id"] for hit in search.suggest("resumed scanners question", limit=50)} <= {
        t.id for t in db.session.execute(select(Thread)).scalars()}


def test_a_run_that_died_before_indexing_its_committed_batches_is_completed_by_the_next(app, db, tmp_path,
                                                                                        monkeypatch):
    """The documents are written after their rows commit: a process killed in between leaves
    threads without a document; running the import again indexes those it skips, once."""
    from community.search import bulk, bulk_process

    lines = [dict(GOOD, external_id=f"kb-{n}", title=f"Unindexed question {n} about toner") for n in range(12)]
    path = write_jsonl(tmp_path / "in.jsonl", lines)
    with monkeypatch.context() as patch:  # the documents never reach the index
        patch.setattr(bulk_process.ProcessIndexer, "add", lambda self, docs: 0)
        patch.setattr(bulk.BulkIndexer, "add", lambda self, docs: 0)
        first = run_import(app, path, "--batch-size", "5")
    assert "Imported 12 threads" in first.output and "indexed 0" in first.output
    assert search.count() == 0
    again = run_import(app, path, "--batch-size", "5")
    assert "Imported 0 threads" in again.output and "skipped 12" in again.output and "indexed 12" in again.output
    assert search.count() == 12
    assert "indexed 0" in run_import(app, path, "--batch-size", "5").output  # nothing twice
    assert search.count() == 12
    ids = {t.id for t in db.session.execute(select(Thread)).scalars()}
    assert {hit["id"] for hit in search.suggest("unindexed toner question", limit=50)} == ids


def test_an_import_whose_index_child_dies_resumes_without_duplicates(app, db, tmp_path, monkeypatch):
    """The index written by two children, runs of 10 documents dealt in turn: the first child
    killed in its second run (at the 21st document) fails the import; the run the other child
    wrote is committed, and running the import again indexes every thread once."""
    import os

    from community.search import bulk, bulk_process

    app.config["SEARCH_BULK_COMMIT_EVERY"] = 10
    monkeypatch.setattr(bulk_process, "INDEX_CHILDREN", 2)
    lines = [dict(GOOD, external_id=f"kb-{n}", title=f"Killed writer question {n} about faxes") for n in range(45)]
    path = write_jsonl(tmp_path / "in.jsonl", lines)
    real, seen = bulk._add_document, []

    def dies_at_its_11th_document(writer, fields):  # counted in each child's copy of ``seen``
        seen.append(1)
        if len(seen) == 11 and os.getpid() != parent:
            os._exit(1)
        return real(writer, fields)

    parent = os.getpid()
    with monkeypatch.context() as patch:
        patch.setattr(bulk, "_add_document", dies_at_its_11th_document)
        with pytest.raises(Exception, match="terminated abruptly") :
            run_import(app, path, "--batch-size", "5")
    db.session.rollback()
    imported = db.session.execute(select(func.count()).select_from(Thread)).scalar_one()
    assert 20 < imported <= 45
    assert search.count() == 20  # the two runs written before it
    again = run_import(app, path, "--batch-size", "5")
    assert f"skipped {imported} already imported" in again.output and "indexed 25" in again.output  # once each
    assert search.count() == 45
    ids = {t.id for t in db.session.execute(select(Thread)).scalars()}
    assert len(ids) == 45
    hits = search.suggest("killed writer question faxes", limit=100)
    assert len(hits) == len({hit["id"] for hit in hits}) and {hit["id"] for hit in hits} <= ids


def test_inserted_rows_get_the_ids_returned_in_their_order_after_existing_rows(app, db, make):
    """The SQLite path numbers rows itself after the first one's id: each id is its own row's."""
    from community.models import Tag
    from community.services.forum.import_copy import insert_rows

    make.thread(title="Already here")
    before = db.session.execute(select(func.max(Tag.id))).scalar() or 0
    ids = insert_rows(Tag.__table__, [{"name": f"imported-{n}"} for n in range(5)])
    assert ids == list(range(before + 1, before + 6))
    assert [db.session.get(Tag, i).name for i in ids] == [f"imported-{n}" for n in range(5)]
    db.session.commit()


def test_bad_lines_are_reported_with_line_numbers_and_skipped(app, db, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [
        GOOD,                                              # 1
        "{not json",                                       # 2
        {"external_id": "x", "body": "no title here"},     # 3
        "",                                                # 4 (blank: ignored)
        dict(GOOD, external_id="kb-5", answers="nope"),    # 5
        dict(GOOD, external_id="kb-6", created_at="yesterday"),  # 6
        dict(GOOD, title="Duplicate id in the same file"),  # 7
        "[1, 2]",                                          # 8
        dict(GOOD, external_id="kb-9", title="The last good line"),  # 9
    ])
    result = run_import(app, path)
    assert result.exit_code == 0
    out = result.output
    assert f"{path}: line 2: invalid JSON" in out
    assert f"{path}: line 3: title: missing" in out
    assert f"{path}: line 5: answers: expected a list" in out
    assert f"{path}: line 6: created_at: 'yesterday' is not an ISO 8601 date" in out
    assert f"{path}: line 7: external_id 'kb-1' appears twice" in out
    assert f"{path}: line 8: expected a JSON object" in out
    assert "line 4" not in out and "line 9:" not in out
    assert "Imported 2 threads" in out and "6 bad lines" in out
    assert {t for t in db.session.execute(select(Thread.external_id)).scalars()} == {"kb-1", "kb-9"}


def test_import_pauses_listeners_and_indexes_in_bulk(app, db, tmp_path, monkeypatch):
    state = app.extensions["search"]
    calls = []
    monkeypatch.setattr(state, "reindex", lambda keys: calls.append(keys))
    lines = [dict(GOOD, external_id=f"kb-{n}", title=f"Question number {n} about printers") for n in range(25)]
    result = run_import(app, write_jsonl(tmp_path / "in.jsonl", lines), "--batch-size", "10")
    assert "Imported 25 threads" in result.output
    assert calls == []  # no per-commit indexing during the import
    assert search.count() == 25


def test_fast_markdown_path_matches_the_renderer():
    samples = [
        "Plain words only", "Two\nlines", "Para one.\n\nPara two.", "trailing  ", "Line  \nbreak",
        "Use **bold**", "see http://example.com", "example.com is down", "1. first", "- item",
        "a & b < c", "Heading\n===", "    code", "tab\there", "it's \"quoted\" ok", "É ü 日本語 text",
        "x\n\n\ny", "Error: cannot sync", "ctrl\x0bchar", "v2.1 broke it", "e.g. this", "end.",
        "It works!", "Wow! [link](http://x.io)", "![img](/uploads/a.png)", "MO.SE is odd", "see stackexchange.com/q/1",
        "www.example.org", "mail me@example.com", "i.e. the file.txt", "ftp://host/x", "Acme 1.14.7 fails",
        "a -> b", "x > y and y >= z", "> quoted", "a\n> quoted", "a >\nb", ">", "1 > 0.", "a\n\n>b",
    ]
    for text in samples:
        assert render_body(text) == render_markdown(text), text
    assert render_body("x > y") == "<p>x &gt; y</p>"  # the fast path itself, not the renderer


#: The single pattern ``import_render._NOT_PLAIN`` was before it became several scans (with the
#: "_" and "]" of Markdown's emphasis and links since: ``test_underscores_and_brackets_...``).
_NOT_PLAIN_AS_ONE = re.compile(r"[<&*`|\x00-\x08\x0b-\x1f\x7f]|!\[|^\s*(?:[-+=>#~]|\d+[.)])|\t|[^\S\n]\n"
                               r"|\n\s*\n\s*\n|(?<!\w)_|_(?!\w)|\]\s*[(\[:]|\\[\\`*_{}\[\]()>#+\-.!|]|\\$", re.MULTILINE)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 .)\n\t\r\x0b\xa0\u2028-+=>*![&<|~#_]([:\\{")) | st.characters(), max_size=16))
def test_the_three_syntax_scans_find_what_the_one_pattern_found(text):
    from community.services.forum.import_render import _NOT_PLAIN

    assert any(p.search(text) for p in _NOT_PLAIN) is (_NOT_PLAIN_AS_ONE.search(text) is not None)


#: Words with underscores and brackets, as text and as Markdown's emphasis, links and references.
BRACKETY = ["snake_case", "E_0027", "a__b", "x_y_z", "_lead", "trail_", "__init__", "_em_", "__strong__", "a_ b",
            "a _b", "é_ü", "1_2", "_", "__", "[1]", "[a]", "[a](b)", "[a] (b)", "[a][b]", "[a] [b]", "[a]:", "[a]: b",
            "[x]: http://a.io", "[", "]", "](", "][", "]:", "(see [this])", "a]b", "[[a]]", "[a\n]", "x.io/a_b",
            "word", "(", ")", ":", "a.io", "\n", "\n\n", "_\n", "\n_", "a_\nb", "é", "ſ", "K",
            "#", "##", "# ", "#1", "C#", "\n#", "~", "~~~", "\n~~~\n", "x~y", "~/a", "\\", "\\\\", "\\ne", "\\{", "\\_",
            "\\#", "\\|", "\\.", "$\\over$", "\\\n", "{", "}", "|", "!"]


def test_underscores_and_brackets_render_as_the_renderer_on_examples():
    samples = ["Set max_retries to 3", "E_0027 [1] again", "see [the docs] and [this]", "x [a] (b) y",
               "[a]: http://example.com\n\nsee [a]", "[a][b]", "a _b_ c", "__init__ runs", "snake_case_", "[a](b)",
               "[x]\n(y)", "1_2_3 and a__b", "[[nested]] text", "ids x_y, [3] and (z)", "C# and #12", "# Title",
               "a\n# b", "x ~ y ~~~ z", "~~~\ncode\n~~~", "$P \\ne NP$", "a \\{b\\}", "a\\", "a\\\nb", "\\\\x", "~user"]
    for text in samples:
        assert render_body(text) == render_markdown(text), text
    assert render_body("Set max_retries [1]") == "<p>Set max_retries [1]</p>"  # the plain path, not Markdown's
    assert render_body("C# \\ne ~x") == "<p>C# \\ne ~x</p>"


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(BRACKETY) | st.text(alphabet="ab_[]() :\n.", max_size=4), min_size=1, max_size=12),
       st.sampled_from([" ", "", "\n"]))
def test_underscores_and_brackets_render_as_the_renderer(words, between):
    """An "_" between word characters and brackets that open no link are text to Markdown: the
    plain path writes what the renderer writes, whatever else the text holds."""
    text = between.join(words)
    assert render_body(text) == render_markdown(text), text
    html = render_body(text)
    from community.search.documents import html_to_text

    assert render_with_text(text) == (html, html_to_text(html)), text


LINKY = ["see", "example.com", "http://a.io/x?y=1&", "(docs.python.org/3)", "www.test.org.", "v1.2.3", "e.g.",
         "x > y", "it's", "\"q\"", "end.", "a-b.cd", "https://host.example/path#frag", "foo.bar.baz", "!", ","]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.lists(st.sampled_from(LINKY), min_size=1, max_size=6), min_size=1, max_size=3),
                min_size=1, max_size=3))
def test_plain_paragraphs_with_links_render_as_the_renderer(paragraphs):
    """Plain paragraphs holding URLs skip Markdown, not the sanitizer's linkifier: the same HTML."""
    text = "\n\n".join("\n".join(" ".join(words) for words in lines) for lines in paragraphs)
    assert render_body(text) == render_markdown(text), text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.lists(st.sampled_from(LINKY + ["a\u00a0b", "x\u2003y", "**b**", "<i>", "&amp;"]),
                                  min_size=1, max_size=6), min_size=1, max_size=3), min_size=1, max_size=3))
def test_the_workers_text_is_the_text_of_their_html(paragraphs):
    """The text a worker returns with the HTML is what the search documents would read from it."""
    from community.search.documents import html_to_text

    text = "\n\n".join("\n".join(" ".join(words) for words in lines) for lines in paragraphs)
    html = render_body(text)
    assert render_with_text(text) == (html, html_to_text(html)), text


def test_an_import_through_the_pool_indexes_what_a_rebuild_would(app, db, tmp_path):
    """Every rendering path (plain, plain with a link, Markdown, HTML given) gives the stored
    fields a rebuild from the database gives: no document is stale."""
    from community.search.compare import index_drift
    from community.services.forum import import_formats, importer

    bodies = ["Plain words x > y only", "Docs at example.com/help\n\nThen retry.", "Use **bold** <b>here</b>"]
    lines = [dict(GOOD, external_id=f"kb-{n}", title=f"Question {n}", body=bodies[n % 3],
                  answers=[dict(GOOD["answers"][0], body=bodies[(n + 1) % 3]),
                           dict(GOOD["answers"][1], body=bodies[(n + 2) % 3])]) for n in range(6)]
    path = write_jsonl(tmp_path / "in.jsonl", lines)
    given = import_formats.ThreadIn(external_id="kb-html", title="Given HTML", body="ignored", author="ann",
                                    category="Printing", body_html="<p>Given &amp; <b>kept</b></p>")
    with app.app_context():
        report = importer.import_records([*import_formats.read_jsonl(path), (8, given)], commit=db.session.commit,
                                         batch_size=3, workers=2, min_pool_texts=1)
        assert (report.created, report.indexed) == (7, 7)
        assert index_drift(app.extensions["search"], db.session) == {"missing": [], "extra": [], "stale": []}
    assert [hit["title"] for hit in search.suggest("given kept")] == ["Given HTML"]


def test_plain_paragraphs_with_a_link_are_not_converted_by_markdown(monkeypatch):
    from community import markup

    expected = render_markdown("Printer docs at example.com/help\n\nThen retry.")
    monkeypatch.setattr(markup, "_renderer", lambda: pytest.fail("Markdown converted a plain text"))
    assert render_body("Printer docs at example.com/help\n\nThen retry.") == expected
    assert '<a href="http://example.com/help" rel="nofollow ugc">' in expected


@pytest.mark.skipif(not (SE_DUMP / "Posts.xml").exists(), reason="Stack Exchange sample dump not present")
def test_stackexchange_import_keeps_accepted_answers_scores_and_dates(app, db):
    result = run_import(app, "--format", "stackexchange", SE_DUMP)
    assert result.exit_code == 0, result.output
    assert "Imported 589 threads (1,322 answers)" in result.output
    threads = db.session.execute(select(func.count()).select_from(Thread)).scalar_one()
    solved = db.session.execute(select(func.count()).select_from(Thread)
                                .where(Thread.accepted_post_id.is_not(None))).scalar_one()
    assert (threads, solved) == (589, 206)
    # Post Id 1 in the dump: score 19, 2,065 views, asked 2010-08-16T20:20:28.943, accepted answer 100.
    first = db.session.execute(select(Thread).where(Thread.external_id == "se:1")).scalar_one()
    assert first.score == 19 and first.question_post.score == 19 and first.view_count == 2065
    assert first.created_at.isoformat() == "2010-08-16T20:20:28.943000"
    assert first.accepted_post is not None and first.solved
    assert db.session.execute(select(func.count()).select_from(Vote)).scalar_one() == 0  # no invented voters
    assert "<script" not in first.question_post.body_html
    assert search.count() == 589
    again = run_import(app, "--format", "stackexchange", SE_DUMP)
    assert "Imported 0 threads" in again.output and "skipped 589" in again.output


def test_stackexchange_bad_directory(app, tmp_path):
    result = run_import(app, "--format", "stackexchange", tmp_path)
    assert "Posts.xml: not found" in result.output


def test_worker_pool_renders_the_same_html_one_batch_ahead(app, db, tmp_path):
    from community.services.forum import import_formats, importer

    lines = [dict(GOOD, external_id=f"kb-{n}", title=f"Pool question {n} about printers",
                  body=f"Printer {n} shows **offline** since <b>today</b>, see example.com/{n}") for n in range(7)]
    path = write_jsonl(tmp_path / "in.jsonl", lines)
    with app.app_context():
        report = importer.import_records(import_formats.read_jsonl(path), commit=db.session.commit,
                                         batch_size=2, workers=2, min_pool_texts=1)
    assert (report.created, report.answers, report.indexed) == (7, 14, 7)
    posts = db.session.execute(select(Post).order_by(Post.id)).scalars().all()
    assert len(posts) == 21
    assert all(post.body_html == render_markdown(post.body) for post in posts)
    assert "<strong>offline</strong>" in posts[0].body_html and "&lt;b&gt;" in posts[0].body_html
    threads = db.session.execute(select(Thread).order_by(Thread.id)).scalars().all()
    assert [t.external_id for t in threads] == [f"kb-{n}" for n in range(7)]
    assert all(t.question_post.is_question and t.accepted_post.body.startswith("Remove") for t in threads)
    assert search.count() == 7
