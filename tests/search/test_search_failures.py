"""A search failure is an error, never "no result", and no broken searcher stays cached (issue 22)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from whoosh import reading

from community import search
from community.models import AskEvent
from community.services.deflection import suggestions

UA = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"}


@pytest.fixture()
def printer(make):
    return make.thread(title="Zebra printer ribbon keeps jamming", body="The ribbon jams after every label.")


@pytest.fixture()
def broken_index(app, monkeypatch):
    """Every attempt to open a searcher fails, as when the index directory was wiped."""
    state = app.extensions["search"]
    state.index.discard()

    def fail(*args, **kwargs):
        raise FileNotFoundError("segment file vanished")

    monkeypatch.setattr(state.index.index(), "searcher", fail)
    monkeypatch.setattr("community.search.whoosh_index.time.sleep", lambda seconds: None)
    return state


def test_a_segment_deleted_while_opening_leaves_no_dead_searcher(make, printer, monkeypatch):
    """A merge in another process deletes a segment file just as this one opens it.

    Whoosh's ``Searcher.refresh()`` then closed the old readers twice and raised
    ``ReaderClosed`` on every later call, so the worker answered [] until restarted.
    """
    assert search.suggest("zebra ribbon")[0]["id"] == printer.id  # caches a searcher
    make.thread(title="Scanner skips pages", body="The feeder takes two sheets at once.")  # new generation
    real_init, failures = reading.SegmentReader.__init__, []

    def flaky_init(self, *args, **kwargs):
        if not failures:
            failures.append(1)
            raise FileNotFoundError("segment merged away")
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(reading.SegmentReader, "__init__", flaky_init)
    for _ in range(3):
        assert [hit["id"] for hit in search.suggest("zebra ribbon")] == [printer.id]
    assert failures == [1]


def test_a_searcher_closed_under_the_caller_is_replaced(app, printer):
    state = app.extensions["search"]
    state.index.searcher(priors=False).close()
    state.index.searcher(priors=True).reader().close()  # closed reader, searcher unaware
    assert search.suggest("zebra ribbon")[0]["id"] == printer.id
    assert search.search("zebra ribbon").results[0].id == printer.id


def test_suggest_and_search_raise_when_the_index_cannot_be_read(printer, broken_index):
    with pytest.raises(search.SearchUnavailable):
        search.suggest("zebra ribbon")
    with pytest.raises(search.SearchUnavailable):
        search.search("zebra ribbon")
    with pytest.raises(suggestions.SuggestionsUnavailable):
        suggestions.find_suggestions("zebra ribbon")


def test_suggest_api_answers_503_not_an_empty_list(client, printer, broken_index):
    response = client.get("/api/v1/suggest?q=zebra+ribbon")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "search_unavailable"


def test_search_page_answers_503_not_no_results(client, printer, broken_index):
    response = client.get("/search?q=zebra+ribbon")
    assert response.status_code == 503
    html = response.data.decode()
    assert "temporarily unavailable" in html and "No results" not in html


def test_ask_page_still_works_and_records_no_zero_result_search(client, db, printer, broken_index):
    page = client.get("/ask?title=zebra+ribbon+jams", headers=UA)
    assert page.status_code == 200
    session_id = re.search(r'data-ask-session="(\w+)"', page.data.decode()).group(1)
    api = client.get(f"/api/v1/suggest?q=zebra+ribbon+jams&session={session_id}", headers=UA)
    assert api.status_code == 503
    shown = db.session.execute(select(AskEvent).where(AskEvent.session_id == session_id,
                                                      AskEvent.kind == "suggestions_shown")).all()
    assert shown == []


def test_search_recovers_once_the_index_is_back(app, printer, broken_index, monkeypatch):
    with pytest.raises(search.SearchUnavailable):
        search.suggest("zebra ribbon")
    monkeypatch.undo()
    assert search.suggest("zebra ribbon")[0]["id"] == printer.id


def test_an_index_whose_table_of_contents_is_replaced_while_opening_opens(app, printer, monkeypatch):
    """A worker starts while another process's search queue commits: Whoosh listed generation N's
    table of contents and the commit removed it before it was read.  That worker's start failed
    with FileNotFoundError (CI, a live-server test); it now reads the next generation."""
    from whoosh import index as whoosh_index

    from community.search.whoosh_index import WhooshIndex

    real_read, failures = whoosh_index.TOC.read, []

    def replaced_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise FileNotFoundError("_community_0.toc")
        return real_read(*args, **kwargs)

    monkeypatch.setattr(whoosh_index.TOC, "read", replaced_once)
    reopened = WhooshIndex(app.config["SEARCH_INDEX_DIR"])
    assert reopened.index().doc_count() == app.extensions["search"].index.doc_count()
    assert failures == [1]
