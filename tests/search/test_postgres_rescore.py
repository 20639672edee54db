"""The PostgreSQL backend's rescoring: BM25 per weight class as the Whoosh ranker scores fields
(``community/search/postgres_rescore.py``), on rows as the window query returns them."""
from __future__ import annotations

import pytest

from community.search import postgres_rescore as rescore
from community.search import proximity, ranker

AVERAGES = {"a": 40.0, "b": 400.0, "c": 200.0, "d": 900.0}
TOTAL = 1000


@pytest.fixture(autouse=True)
def _no_proximity(monkeypatch):
    """The formula's parts apart; proximity has its own test below."""
    monkeypatch.setattr(proximity, "WEIGHT", 0.0)


def row(hits, **lengths):
    """A window row: ``hits`` as ``unnest(vector)`` gives them, lengths in bytes per class."""
    out = {"hits": [[lexeme, positions, weights] for lexeme, positions, weights in hits]}
    out.update({name: lengths.get(name, AVERAGES[name[-1]]) for name in rescore.LENGTHS})
    return out


def bm25(tf, length, average, df, boost):
    idf = rescore.idf(df, TOTAL)
    return idf * tf * (ranker.K1 + 1) / (tf + ranker.K1 * (1 - ranker.B + ranker.B * length / average)) * boost


def test_one_word_is_bm25_per_class_times_the_field_boost():
    word = rescore.Word(("printer",), df=30)
    got = rescore.score(row([("printer", [2, 9, 40], ["A", "B", "D"])], len_a=20), [word], TOTAL, AVERAGES)
    want = (bm25(1, 20, 40, 30, 3.0)        # title, boost 3
            + bm25(1, 400, 400, 30, 1.2)    # question, 1.2
            + bm25(1, 900, 900, 30, 0.3))   # other answers, 0.3
    assert got == pytest.approx(want)


def test_each_class_is_normalised_by_its_own_length():
    """ts_rank divides by the whole row; here a long answer section does not dilute the title."""
    word = rescore.Word(("ribbon",), df=10)
    short_answers = row([("ribbon", [1], ["A"])], len_d=100)
    long_answers = row([("ribbon", [1], ["A"])], len_d=20000)
    assert rescore.score(short_answers, [word], TOTAL, AVERAGES) == rescore.score(long_answers, [word], TOTAL, AVERAGES)
    long_title = row([("ribbon", [1], ["A"])], len_a=200)
    assert rescore.score(long_title, [word], TOTAL, AVERAGES) < rescore.score(short_answers, [word], TOTAL, AVERAGES)


def test_a_common_word_is_not_scored_in_other_answers():
    common = rescore.Word(("account",), df=400, common=True)
    rare = rescore.Word(("account",), df=400, common=False)
    hits = row([("account", [50], ["D"])])
    assert rescore.score(hits, [common], TOTAL, AVERAGES) == 0
    assert rescore.score(hits, [rare], TOTAL, AVERAGES) > 0


def test_query_coverage_scales_by_the_idf_share_held():
    words = [rescore.Word(("zebra",), df=5), rescore.Word(("printer",), df=100)]
    only_printer = row([("printer", [30], ["B"])])
    alone = rescore.score(only_printer, words[1:], TOTAL, AVERAGES)
    share = rescore.coverage_idf(100, TOTAL) / (rescore.coverage_idf(5, TOTAL) + rescore.coverage_idf(100, TOTAL))
    assert rescore.score(only_printer, words, TOTAL, AVERAGES) == pytest.approx(alone * share ** ranker.COVERAGE_POWER)


def test_words_in_order_in_the_title_earn_the_phrase_bonus():
    words = [rescore.Word(("ribbon",), df=10), rescore.Word(("jam",), df=12)]
    in_order = row([("ribbon", [2], ["A"]), ("jam", [3], ["A"])])
    reversed_ = row([("ribbon", [3], ["A"]), ("jam", [1], ["A"])])
    plain = bm25(1, 40, 40, 10, 3.0) + bm25(1, 40, 40, 12, 3.0)
    raw = plain / 3.0
    assert rescore.score(reversed_, words, TOTAL, AVERAGES) == pytest.approx(plain)
    assert rescore.score(in_order, words, TOTAL, AVERAGES) == pytest.approx(plain + 2.0 * raw)


def test_a_corrected_word_counts_its_best_form_once():
    """A typo's correction and the typed word are one word: the better of the two counts."""
    word = rescore.Word(("password", "pasword"), df=50)
    both = row([("password", [4, 8], ["B", "B"]), ("pasword", [2], ["A"])])
    assert rescore.score(both, [word], TOTAL, AVERAGES) == pytest.approx(
        bm25(1, 40, 40, 50, 3.0) + bm25(2, 400, 400, 50, 1.2))


def test_no_hits_score_nothing():
    assert rescore.score({"hits": None}, [rescore.Word(("x",), 1)], TOTAL, AVERAGES) == 0


def test_words_close_together_in_title_and_question_earn_the_proximity_multiplier(monkeypatch):
    monkeypatch.setattr(proximity, "WEIGHT", 0.2)
    words = [rescore.Word(("ribbon",), df=10), rescore.Word(("jam",), df=12)]
    near = row([("ribbon", [8], ["B"]), ("jam", [10], ["B"])])
    far = row([("ribbon", [8], ["B"]), ("jam", [30], ["B"])])
    in_answers = row([("ribbon", [80], ["D"]), ("jam", [81], ["D"])])
    plain = bm25(1, 400, 400, 10, 1.2) + bm25(1, 400, 400, 12, 1.2)
    assert rescore.score(far, words, TOTAL, AVERAGES) == pytest.approx(plain)
    assert rescore.score(near, words, TOTAL, AVERAGES) == pytest.approx(plain * 1.2)
    assert rescore.score(in_answers, words, TOTAL, AVERAGES) == pytest.approx(
        bm25(1, 900, 900, 10, 0.3) + bm25(1, 900, 900, 12, 0.3))  # only title and question count


def test_a_vector_s_text_gives_each_lexeme_s_positions_and_weights():
    """``hits`` reads the query's lexemes out of ``tsvector``'s text output (weight D has no
    letter, quotes and backslashes doubled, a lexeme without positions), none other."""
    text = r"'error':3,5A 'errors':9B 'it''s':2C 'a\\b':4 'printer':1A,7B,12 'zz'"
    assert rescore.hits(text, ["printer", "error", "it's", "a\\b", "zz", "err", "nope"]) == [
        ["printer", [1, 7, 12], ["A", "B", "D"]], ["error", [3, 5], ["D", "A"]], ["it's", [2], ["C"]],
        ["a\\b", [4], ["D"]], ["zz", [], []]]
    assert rescore.hits("'s':1 'it''s':2B", ["s"]) == [["s", [1], ["D"]]]
    assert rescore.hits(None, ["x"]) == [] and rescore.hits("", ["x"]) == []
