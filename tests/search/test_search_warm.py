"""``search.warm()``: what a serving worker reads as it starts (gunicorn.conf.py), so that its
first visitors' searches do not read it."""
from __future__ import annotations

import pytest

from community import search
from community.search import postings
from community.search.query import TYPO_FIELDS


def _segments(app):
    from whoosh.reading import SegmentReader

    searcher = app.extensions["search"].index.searcher(priors=False)
    return [leaf for leaf, _ in searcher.reader().leaf_readers() if isinstance(leaf, SegmentReader)]


def test_warm_reads_every_segment_so_a_first_typo_needs_no_term_listing(app, make, monkeypatch, search_backend):
    if search_backend != "whoosh":
        pytest.skip("Whoosh's per-process segment columns")
    login = make.thread(title="Cannot log in after changing my password", body="The login page says no.")
    make.thread(title="Invoice shows the wrong company name", body="The billing address is old.")
    segments = _segments(app)
    assert len(segments) >= 1
    for leaf in segments:            # nothing read yet in this process
        columns = postings.segment_columns(leaf)
        columns._words.clear()
        columns._lengths.clear()

    assert search.warm() == len(segments)

    scorable = app.extensions["search"].index.index().schema.scorable_names()
    for leaf in segments:
        columns = postings.segment_columns(leaf)
        assert set(TYPO_FIELDS) <= set(columns._words) and set(scorable) <= set(columns._lengths)
    # The term listing is what the first unknown word would have read: it is no longer needed.
    tindex = type(segments[0]._terms._tindex)
    monkeypatch.setattr(tindex, "keys_from", lambda *a, **k: pytest.fail("listed the terms again"))
    assert search.suggest("pasword")[0]["id"] == login.id


def test_warm_on_postgres_reads_nothing(app, search_backend):
    if search_backend != "postgres":
        pytest.skip("the PostgreSQL backend's own answer")
    assert search.warm() == 0


def test_a_warm_up_that_fails_is_logged_and_the_worker_serves_anyway(app, monkeypatch, search_backend):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("gunicorn_conf", Path(__file__).parents[2] / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    logged = []

    class Log:
        def info(self, message, *args):
            logged.append(("info", message % args))

        def exception(self, message, *args):
            logged.append(("exception", message % args))

    class Worker:
        log = Log()

        class app:  # noqa: N801 - gunicorn's worker.app.wsgi()
            @staticmethod
            def wsgi():
                return _app

    _app = app
    conf.post_worker_init(Worker())
    assert logged[-1][0] == "info" and logged[-1][1].startswith("search warmed: ")

    def broken():
        raise search.SearchUnavailable("index gone")

    monkeypatch.setattr(search, "warm", broken)
    conf.post_worker_init(Worker())
    assert logged[-1] == ("exception", "search warm-up failed; serving without it")
    app.config["SEARCH_WARM_ON_START"] = False
    before = len(logged)
    conf.post_worker_init(Worker())
    assert len(logged) == before
