"""Any text is a valid query; ranking basics; suggest's contract."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community import search
from community.search import query as querying
from community.services.forum import accepting

SYNTAX = st.sampled_from(['"', "'", ":", "(", ")", "[", "]", "{", "}", "*", "?", "~", "^", "\\", "/", "-",
                          "+", "AND", "OR", "NOT", "title:", "TO", "<", ">", "&", "%", "\x00", "\u202e", " "])
QUERIES = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(SYNTAX, st.text(alphabet=st.characters(), min_size=1, max_size=8)), max_size=40).map("".join),
    st.text(alphabet="abc *:\"()", min_size=5000, max_size=12000),
)


@pytest.fixture()
def corpus(make, db):
    category = make.category("Accounts")
    threads = [
        make.thread(category=category, title="Cannot log in after resetting my password",
                    body="The login page says invalid credentials after I reset my password."),
        make.thread(category=category, title="Two-factor codes are not accepted",
                    body="My authenticator app codes are rejected with an error."),
        make.thread(category=category, title="Change the email address on my account",
                    body="I moved to a new company email and want to update it."),
    ]
    reply = make.reply(threads[0], body="Clear your browser cookies and sign in again.")
    accepting.accept(threads[0].author, threads[0], reply)
    db.session.commit()
    return threads


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=QUERIES)
def test_any_input_returns_a_list_never_an_error(corpus, text):
    results = search.suggest(text)
    assert isinstance(results, list) and len(results) <= 5
    page = search.search(text, page=3, per_page=2)
    assert page.total >= 0 and len(page.results) <= 2


def test_query_is_built_from_stems_not_syntax():
    assert querying.analyze('title:"logging" OR (passwords*)') == ["titl", "log", "password"]
    assert querying.analyze("") == [] and querying.analyze(None) == []
    assert len(querying.analyze(" ".join(f"word{n}" for n in range(500)))) == querying.MAX_TERMS
    assert querying.build([]) is None


def test_stemming_and_title_boost_rank_the_right_thread(corpus):
    results = search.suggest("logging in fails, password was reset")
    assert results[0]["id"] == corpus[0].id
    assert results[0]["solved"] is True and "cookies" in results[0]["snippet"]
    assert search.suggest("authenticator code rejected")[0]["id"] == corpus[1].id
    assert search.suggest("update my e-mail address")[0]["id"] == corpus[2].id


def test_suggest_limit_and_types(corpus):
    assert len(search.suggest("account password email codes", limit=2)) == 2
    assert search.suggest("password", types=("idea",)) == []
    assert search.suggest("password", limit=0) == []
    assert search.suggest("   ") == [] and search.suggest("the and of") == []


def test_accents_and_case_fold(make):
    thread = make.thread(title="Café menu résumé export fails")
    assert search.suggest("CAFE RESUME")[0]["id"] == thread.id


def test_on_a_small_site_a_word_most_threads_share_still_counts(app, make, db):
    """Three threads, "file" in two of them: the word still narrows the results (on a site of
    thousands, a word in over half the threads is left out of the query: ``query.prune``)."""
    one = make.thread(title="Desktop app stuck on syncing one file forever", body="It never finishes, all day.")
    two = make.thread(title="Sync conflicts create duplicate copies of my files", body="It never finishes, all day.")
    make.thread(title="Selective sync settings reset after an update", body="It never finishes, all day.")
    found = [hit.id for hit in search.search("sync stuck file").results]
    assert found[:2] == [one.id, two.id] and len(found) == 3


def test_typos_are_corrected_to_the_known_word_one_edit_away(corpus):
    """Both backends: a deletion, a swap of neighbours and a substitution find the thread whose
    words they meant; two edits are no typo of it."""
    login = corpus[0].id
    assert search.suggest("pasword")[0]["id"] == login  # deletion
    assert search.suggest("passwrod")[0]["id"] == login  # neighbours swapped
    assert search.suggest("lagin page")[0]["id"] == login  # substitution
    assert search.search("authenticatr codes").results[0].id == corpus[1].id
    assert search.suggest("pssswrd") == []  # two edits: no correction, nothing found


def test_a_new_word_one_edit_from_a_known_one_finds_its_thread(corpus, make):
    """A word only a new thread holds is its own word, not a typo of a known one."""
    search.suggest("password")  # the backends' word statistics are read before the new thread
    fresh = make.thread(title="Umlauts rejected by the passwort field", body="The passwort field rejects them.")
    assert fresh.id in [hit.id for hit in search.search("passwort").results]  # the page: no title prefixes


def test_query_words_close_together_rank_above_scattered_ones(app, make, monkeypatch):
    """Term proximity (``search/proximity.py``, both backends): the same words, once side by side
    in the question and once far apart; without the bonus the shorter question wins."""
    from community.search import proximity

    scattered = make.thread(title="Label printer trouble", body="The ribbon is new, yet the printer still shows a jam.")
    close = make.thread(title="Label printer trouble",
                        body="A ribbon jam shows on the new printer, yet it is still there.")
    monkeypatch.setattr(proximity, "WEIGHT", 0.0)
    assert [hit["id"] for hit in search.suggest("ribbon jam", types=("thread",))] == [scattered.id, close.id]
    monkeypatch.setattr(proximity, "WEIGHT", 0.2)
    getattr(app.extensions["search"], "_suggest_cache", {}).clear()  # Whoosh keeps answers per index generation
    assert [hit["id"] for hit in search.suggest("ribbon jam", types=("thread",))] == [close.id, scattered.id]


def test_the_proximity_multiplier_counts_stems_next_to_another():
    from community.search import proximity

    assert proximity.multiplier([(1, "ribbon"), (2, "jam")], ["ribbon", "jam"]) == 1.0 + proximity.WEIGHT
    assert proximity.multiplier([(1, "ribbon"), (9, "jam")], ["ribbon", "jam"]) == 1.0
    assert proximity.multiplier([(1, "ribbon"), (2, "ribbon")], ["ribbon", "jam"]) == 1.0  # one stem twice
    assert proximity.multiplier([(5, "jam"), (3, "ribbon"), (20, "label")], ["ribbon", "jam", "label"]) == \
        1.0 + proximity.WEIGHT * 2 / 3
    assert proximity.text_positions("Ribbon jam", "The ribbon", ["ribbon", "jam"]) == [(0, "ribbon"), (1, "jam"), (3, "ribbon")]
