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
    # runs end at 20, 40, 60, 80 documents; each run's segment is committed at the latest when
    # the run after it ends, so the generation read after 10, 40, 80 documents is 0, <= 2, >= 3
    app.config["SEARCH_BULK_COMMIT_EVERY"] = 15
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


def _segments(ix) -> list[int]:
    return [segment.doc_count_all() for segment in ix._segments()]


def test_children_write_the_segments_one_writer_committing_every_so_many_would(app, tmp_path, monkeypatch):
    """Runs of ``SEARCH_BULK_COMMIT_EVERY`` documents dealt to two children in turn: the same
    segments, document numbers and postings as one writer committing every so many documents,
    each segment with its sidecar, written by both children (neither of them the importer)."""
    import os

    from community.search import bulk, sidecar

    app.config["SEARCH_BULK_COMMIT_EVERY"] = 25
    monkeypatch.setattr(bulk_process, "INDEX_CHILDREN", 2)
    writers = tmp_path / "writers"
    real = bulk.finish_segment

    def recorded(writer):
        segment = real(writer)
        with open(writers, "a") as out:
            out.write(f"{segment.segment_id()} {os.getpid()}\n")
        return segment

    monkeypatch.setattr(bulk, "finish_segment", recorded)
    docs = _docs(100)
    with search.bulk_writer() as writer:
        assert len(writer._pools) == 2
        for start in range(0, 100, 10):
            writer.add(docs[start:start + 10])
    ix = app.extensions["search"].index.index()
    assert _segments(ix) == [30, 30, 30, 10]  # a run ends after the batch that reaches 25
    by_segment = dict(line.split() for line in writers.read_text().splitlines())
    pids = [by_segment[segment.segment_id()] for segment in ix._segments()]
    assert len(pids) == 4 and len(set(pids)) == 2 and str(os.getpid()) not in pids
    assert pids[0] == pids[2] and pids[1] == pids[3]  # dealt in turn
    (tmp_path / "one").mkdir()
    one = index.create_in(tmp_path / "one", build_schema())
    single = bulk.BulkIndexer(lambda: fast_writer(one.writer()), 25)
    for start in range(0, 100, 10):
        single.add(docs[start:start + 10])
    single.writer.commit()
    assert _segments(one) == [30, 30, 30, 10]
    searcher = ix.searcher()
    assert _postings(searcher) == _postings(one.searcher())
    assert [searcher.stored_fields(n)["key"] for n in range(100)] == [d["key"] for d in docs]
    folder = tmp_path / "index" if (tmp_path / "index").exists() else ix.storage.folder
    for leaf, _offset in searcher.reader().leaf_readers():
        assert sidecar.read_words(leaf) is not None, folder
    assert not [name for name in os.listdir(ix.storage.folder) if name.endswith(".toc")][1:]  # old ones cleaned
    assert search.count() == 100


def test_a_dead_index_child_fails_the_import_and_keeps_what_was_committed(app, monkeypatch):
    """The second child killed in its second run: the import raises, the index holds the
    segments committed before (whole, in order), the lock is free again.  The first child's
    third run (80-99) may or may not have been written before the death was seen (the feeder
    keeps dealing runs until then); when it was, it is committed too (``close``: what the
    others wrote is kept), after the runs before the dead one, and the dead run is not there
    (a resumed import indexes it: ``unindexed``)."""
    import os
    from concurrent.futures.process import BrokenProcessPool

    from community.search import bulk

    app.config["SEARCH_BULK_COMMIT_EVERY"] = 20
    monkeypatch.setattr(bulk_process, "INDEX_CHILDREN", 2)
    real = bulk._add_document

    def dies_in_its_second_run(writer, fields):  # runs: 0-19 first child, 20-39 second, 40-59 first, 60-79 second
        if fields["id"] == 60:
            os._exit(1)
        return real(writer, fields)

    monkeypatch.setattr(bulk, "_add_document", dies_in_its_second_run)
    docs = _docs(100)
    with pytest.raises(BrokenProcessPool):
        with search.bulk_writer() as writer:
            for start in range(0, 100, 10):
                writer.add(docs[start:start + 10])
    ix = app.extensions["search"].index.index()
    segments = _segments(ix)
    assert segments in ([20, 20, 20], [20, 20, 20, 20]), segments
    searcher = ix.searcher()
    kept = docs[:60] + (docs[80:] if len(segments) == 4 else [])
    assert [searcher.stored_fields(n)["key"] for n in range(sum(segments))] == [d["key"] for d in kept]
    app.extensions["search"].index.writer(timeout=0.5).cancel()  # the lock was released
