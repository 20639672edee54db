"""The import's index writer in a child process (``bulk_process``): the same index as in-process,
commits every ``SEARCH_BULK_COMMIT_EVERY`` documents, and the child's failure reaches the importer."""
from __future__ import annotations

import pytest
from whoosh import index
from whoosh.index import LockError

from community import search
from community.search import bulk_process
from community.search.bulk import fast_writer
from community.search.schema import build_schema
from tests.search.test_bulk_writer import _docs, _postings


def _in_process(path, docs):
    path.mkdir()
    ix = index.create_in(path, build_schema())
    writer = fast_writer(ix.writer())
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return ix.searcher()


def test_child_writes_the_index_the_importing_process_would(app, tmp_path):
    docs = _docs(90)
    assert app.config["SEARCH_IMPORT_BACKGROUND"] is True  # the default the import uses
    with search.bulk_writer() as writer:
        assert isinstance(writer, bulk_process.ProcessIndexer)
        for start in range(0, 90, 20):
            assert writer.add(docs[start:start + 20]) == len(docs[start:start + 20])
        assert writer.count == 90
    assert search.count() == 90
    child = app.extensions["search"].index.searcher()
    assert _postings(child) == _postings(_in_process(tmp_path / "plain", docs))


def test_child_commits_every_so_many_documents(app):
    app.config["SEARCH_BULK_COMMIT_EVERY"] = 25
    state = app.extensions["search"]
    generations = []
    with search.bulk_writer() as writer:
        for start in range(0, 100, 10):
            writer.add(_docs(100)[start:start + 10])
            generations.append(state.index.index().latest_generation())
    assert search.count() == 100
    assert len(set(generations)) >= 3  # committed while the import went on, not only at the end


def test_a_busy_index_fails_the_import_instead_of_losing_documents(app):
    app.config["SEARCH_IMPORT_BACKGROUND"] = True
    state = app.extensions["search"]
    holder = state.index.writer()  # another process's writer holds the lock
    try:
        with pytest.raises(LockError):
            with search.bulk_writer(timeout=0.2) as writer:
                for start in range(0, 60, 10):
                    writer.add(_docs(60)[start:start + 10])
    finally:
        holder.cancel()
    assert search.count() == 0


def test_in_process_writer_when_background_is_off(app):
    app.config["SEARCH_IMPORT_BACKGROUND"] = False
    with search.bulk_writer() as writer:
        assert not isinstance(writer, bulk_process.ProcessIndexer)
        writer.add(_docs(10))
    assert search.count() == 10
