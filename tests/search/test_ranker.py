"""The numpy ranker gives exactly the documents and scores of the Whoosh query it replaces.

The reference is Whoosh evaluating ``query.build_two_stage`` over every matching
document (``limit=None``: no block-quality shortcut), sorted by score then docnum.
The corpus has several segments and deleted documents, and common stems (the
common-terms rule is exercised with a lower document-frequency floor).
"""
from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import index
from whoosh import query as Q

from community.search import query as querying
from community.search import postings, ranker
from community.search.postings import SearcherArrays
from community.search.whoosh_index import PriorBM25F, weighting
from community.search.schema import build_schema

#: A Zipf-like vocabulary: the first words are in most documents, the last in a few.
WORDS = ("printer offline sync password reset invoice billing laptop update driver cable wifi router "
         "account locked export csv calendar share folder mobile app crash login token error battery "
         "screen bluetooth firmware license refund shipping tracking webhook proxy certificate").split()


def _text(rng: random.Random, count: int) -> str:
    return " ".join(WORDS[min(int(rng.paretovariate(0.9)) - 1, len(WORDS) - 1)] for _ in range(count))


def _doc(i: int, rng: random.Random) -> dict:
    return dict(key=f"thread:{i}", type="thread" if i % 7 else "idea", id=i, url=f"/t/{i}",
                title=_text(rng, rng.randint(3, 9)) + (f" model{i % 60}" if i % 3 else ""),
                question=_text(rng, rng.randint(5, 40)) + f" error{i % 45}",
                accepted=_text(rng, rng.randint(0, 20)), answers=_text(rng, rng.randint(0, 60)),
                tags=" ".join(rng.sample(WORDS, 2)), category=rng.choice(["Printers", "Billing sync"]),
                learned=_text(rng, 2) if i % 11 == 0 else "", category_id=str(i % 3),
                category_name="x", solved=bool(i % 2), votes=i % 9, prior=1000 + (i * 37) % 400,
                replies=0, status="open", snippet_text="", question_text="")


@pytest.fixture(scope="module")
def searchers(tmp_path_factory):
    rng = random.Random(4)
    ix = index.create_in(tmp_path_factory.mktemp("ranker"), build_schema())
    docs = [_doc(i, rng) for i in range(600)]
    for part in (docs[:250], docs[250:450], docs[450:]):  # three segments
        writer = ix.writer()
        for doc in part:
            writer.add_document(**doc)
        writer.commit(merge=False)
    writer = ix.writer()
    for i in range(0, 600, 13):  # deletions in every segment
        writer.delete_by_term("key", f"thread:{i}")
    writer.commit(merge=False)
    plain, priors = ix.searcher(weighting=weighting(False)), ix.searcher(weighting=weighting(True))
    assert isinstance(priors.weighting, PriorBM25F) and (plain.weighting.K1, plain.weighting.B) == (ranker.K1, ranker.B)
    assert len(plain.reader().leaf_readers()) == 3 and plain.reader().has_deletions()
    yield plain, priors
    plain.close()
    priors.close()


def _queries() -> list[str]:
    rng = random.Random(9)
    out = ["printer offline", "password reset token", "wifi router crash", "csv export calendar",
           "printer", "webhook", "proxy certificate", "the printer is offline again", "pasword reset",
           "printer offline sync password reset invoice billing"]
    out += [" ".join(rng.sample(WORDS, rng.randint(1, 5))) for _ in range(60)]
    out += [" ".join(rng.sample(WORDS, rng.randint(0, 3)) + [f"model{n}", f"error{n}"][:rng.randint(1, 2)])
            for n in range(40)]
    return out


def _reference(searcher, terms, common, filter_q=None, limit=20):
    q = querying.build_two_stage(terms, common=common)
    hits = searcher.search(q, limit=None, filter=filter_q)
    ranked = sorted(((round(h.score, 9), h.docnum) for h in hits), key=lambda p: (-p[0], p[1]))
    return [(d, s) for s, d in ranked[:limit]], len(hits)


def _mine(searcher, terms, common, allow=None, priors=False, limit=20):
    arrays = SearcherArrays(searcher)
    scored = ranker.Scored(ranker.plan(terms, common), arrays)
    multiplier = None
    if priors:
        column = arrays.numeric("prior", 1000)
        multiplier = np.where(column == 0, 1000.0, column) / 1000.0
    top = [(d, round(s, 9)) for d, s in scored.top(limit, allow=allow, multiplier=multiplier)]
    return top, len(scored.candidates(allow))


@pytest.mark.parametrize("min_df, cached_from", [(200, 1024), (15, 1024), (15, 8)])
def test_ranker_matches_whoosh_query_exactly(searchers, monkeypatch, min_df, cached_from):
    """... with the common-terms rule on and off, and lists read from the posting cache
    (``cached_from`` 8: nearly every list decoded whole once, then served from memory)."""
    monkeypatch.setattr(querying, "COMMON_MIN_DF", min_df)
    monkeypatch.setattr(postings, "CACHE_MIN_POSTINGS", cached_from)
    monkeypatch.setattr(postings, "CACHE", postings.PostingCache(16 << 20))
    plain, priors = searchers
    kinds = set()
    for text in _queries():
        terms = querying.prune(querying.analyze(text), plain)
        if not terms:
            continue
        rare, common = querying.split_common(terms, plain)
        kinds.add("all common" if not rare else "some common" if common else "no common")
        for searcher, with_priors in ((plain, False), (priors, True)):
            expected = _reference(searcher, terms, common)
            assert _mine(searcher, terms, common, priors=with_priors) == expected, text
    assert kinds == {"no common", "some common", "all common"} if min_df == 15 else "no common" in kinds
    assert (postings.CACHE.size > 0) == (cached_from == 8)


def test_ranker_filters_and_never_returns_deleted_documents(searchers):
    plain, _priors = searchers
    arrays = SearcherArrays(plain)
    ideas = np.zeros(arrays.doccount, dtype=bool)
    ideas[arrays.docs_of("type", "idea")] = True
    deleted = {plain.document_number(key=f"thread:{i}") for i in range(0, 600, 13)} - {None}
    assert not deleted  # gone from the key lookup ...
    dead = np.flatnonzero(~arrays.live())
    assert len(dead) == len(range(0, 600, 13))  # ... but still docnums in their segments
    for text in ("printer offline", "crash", "token error battery"):
        terms = querying.prune(querying.analyze(text), plain)
        _rare, common = querying.split_common(terms, plain)
        expected = _reference(plain, terms, common, filter_q=Q.Term("type", "idea"), limit=50)
        mine = _mine(plain, terms, common, allow=ideas, limit=50)
        assert mine == expected and mine[0]
        assert not set(d for d, _ in mine[0]) & set(dead.tolist())


def test_phrase_bonus_goes_to_the_words_in_order(searchers):
    plain, _priors = searchers
    arrays = SearcherArrays(plain)
    terms = querying.prune(querying.analyze("printer offline"), plain)
    scored = ranker.Scored(ranker.plan(terms, []), arrays)
    both = scored.candidates()[scored.title_count[scored.candidates()] == 2]
    in_order = set(ranker.Scored._phrase_matches(scored, both, np.arange(len(both))))
    titles = {i: plain.stored_fields(int(d))["title"].split() for i, d in enumerate(both)}
    expected = {i for i, words in titles.items()
                if any(words[j] == "printer" and "offline" in words[j + 1:j + 3] for j in range(len(words)))}
    assert in_order == expected and 0 < len(expected) < len(both)
    # Every bonus found by the branch and bound is the one a full check gives (small limits too).
    for limit in (1, 3, 10):
        reference = _reference(plain, terms, [], limit=limit)[0]
        assert [(d, round(s, 9)) for d, s in scored.top(limit)] == reference


def test_posting_cache_keeps_within_its_budget_least_recently_used_out_first():
    cache = postings.PostingCache(4 * 800)  # four lists of 100 postings (8 bytes each)
    for name in "abcd":
        cache.put((name,), np.arange(100), np.ones(100))
    assert cache.get(("a",)) is not None  # "a" used: "b" is now the oldest
    cache.put(("e",), np.arange(100), np.full(100, 2.0))
    assert cache.get(("b",)) is None and cache.size == 3200
    ids, weights = cache.get(("e",))
    assert ids.tolist() == list(range(100)) and weights.dtype == np.float64 and set(weights) == {2.0}
    cache.put(("huge",), np.arange(1000), np.ones(1000))  # over a quarter of the budget: not kept
    assert cache.get(("huge",)) is None
    cache.resize(1600)
    assert cache.size == 1600 and cache.get(("e",)) is not None and cache.get(("c",)) is None


def test_typo_candidates_are_whooshs_terms_within_one_edit(searchers):
    plain, _priors = searchers
    reader = plain.reader()
    rng = random.Random(5)
    words = sorted({w for w in WORDS if len(w) >= 5} | {f"model{n}" for n in range(60)})
    typos = ["pritner", "prnter", "printerr", "passwrd", "mode17", "modelx", "webhok", "cerificate"]
    for word in words[:40]:
        i = rng.randrange(1, len(word))
        typos += [word[:i] + word[i + 1:], word[:i] + "q" + word[i + 1:], word[:i] + "z" + word[i:],
                  word[:i] + word[i + 1:i + 2] + word[i] + word[i + 2:]]
    found = 0
    for typo in typos:
        for field in ("title", "question"):
            expected = set(reader.terms_within(field, typo, 1, prefix=1)) - {typo}
            assert querying.one_edit_terms(reader, field, typo) == expected, (field, typo)
            found += bool(expected)
    assert found > 40
    assert querying.prune(querying.analyze("pritner ofline"), plain) == ["printer", "offlin"]


def test_a_segment_s_columns_and_words_outlive_the_searcher_that_read_them(tmp_path):
    """After a commit every worker opens a new searcher: the segments it already read are
    not read again (their files never change), only the new one is."""
    ix = index.create_in(tmp_path, build_schema())
    rng = random.Random(1)
    writer = ix.writer()
    for i in range(30):
        writer.add_document(**_doc(i, rng))
    writer.commit()
    old = ix.searcher()
    (leaf, _offset), = old.reader().leaf_readers()
    columns = postings.segment_columns(leaf)
    words = columns.words("title")
    lengths = columns.lengths("title")
    writer = ix.writer()
    writer.add_document(**_doc(99, rng))
    writer.commit(merge=False)
    old.close()
    new = ix.searcher()
    leaves = [reader for reader, _offset in new.reader().leaf_readers()]
    assert len(leaves) == 2
    again = postings.segment_columns(leaves[0])
    assert again is columns and again.words("title") is words and again.lengths("title") is lengths
    assert postings.segment_columns(leaves[1]) is not columns
    assert SearcherArrays(new).lengths("title")[:30].tolist() == lengths.tolist()
    new.close()


def test_kept_term_infos_give_whooshs_frequencies_and_idf(tmp_path):
    """Document frequencies and IDFs from the kept term infos are Whoosh's own over several
    segments, absent terms included, also for a searcher opened after the first was closed."""
    ix = index.create_in(tmp_path, build_schema())
    rng = random.Random(2)
    for part in (range(0, 40), range(40, 70)):
        writer = ix.writer()
        for i in part:
            writer.add_document(**_doc(i, rng))
        writer.commit(merge=False)
    first = ix.searcher()
    for field in ("title", "question", "answers", "tags"):
        for term in [*WORDS[:12], "model7", "error3", "nosuchword"]:
            assert postings.doc_frequency(first.reader(), field, term) == first.reader().doc_frequency(field, term)
    first.close()
    second = ix.searcher(weighting=weighting(False))
    for term in ("battery", "screen", "nosuchword"):  # not asked before
        assert postings.doc_frequency(second.reader(), "question", term) == second.reader().doc_frequency("question", term)
    arrays = SearcherArrays(second)
    scored = ranker.Scored(ranker.plan(["printer"], []), arrays)
    assert scored._idf("title", "printer") == second.idf("title", "printer")
    second.close()
