"""The bulk writer's posting pool writes the same index as Whoosh's own (postings, lengths, scores)."""
from __future__ import annotations

from datetime import datetime

from whoosh import index

from community.search import query as querying
from community.search import bulk
from community.search.bulk import fast_writer
from community.search.schema import build_schema

WORDS = ("printer offline sync password reset invoice billing laptop update driver cable wifi router "
         "account locked export csv calendar share folder mobile app crash login token error").split()


def _docs(n: int) -> list[dict]:
    out = []
    for i in range(n):
        pick = [WORDS[(i * k + k * k) % len(WORDS)] for k in range(1, 9)]
        out.append(dict(key=f"thread:{i}", type="thread", id=i, url=f"/t/{i}", title=" ".join(pick[:4]),
                        question=" ".join(pick * (1 + i % 3)), accepted=" ".join(pick[2:6]) if i % 2 else "",
                        answers=" ".join(reversed(pick)), tags="tag%d" % (i % 5), category="Support",
                        category_id=str(i % 3), category_name="Support", solved=bool(i % 2), votes=i % 7,
                        prior=1000 + i % 50, replies=i % 4, status="open", created=datetime(2024, 1, 1 + i % 28),
                        activity=datetime(2024, 2, 1), snippet_text="x", question_text="x"))
    return out


def _build(path, docs, fast: bool):
    ix = index.create_in(path, build_schema())
    for part, optimize in ((docs[:40], False), (docs[40:70], False), (docs[70:], True)):
        writer = ix.writer()
        if fast:
            fast_writer(writer)
        for doc in part:
            writer.add_document(**doc)
        writer.commit(optimize=optimize)  # the last commit merges the segments through the pool
    return ix


def test_fast_pool_writes_the_same_index(tmp_path):
    docs = _docs(100)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, fast = _build(tmp_path / "a", docs, False).searcher(), _build(tmp_path / "b", docs, True).searcher()
    assert fast.doc_count() == plain.doc_count() == 100
    assert list(fast.reader().all_terms()) == list(plain.reader().all_terms())
    for field in ("title", "question", "answers"):
        assert [fast.reader().doc_field_length(i, field) for i in range(100)] == \
               [plain.reader().doc_field_length(i, field) for i in range(100)]
    for text in ("printer offline", "password reset token", "wifi router crash", "csv export calendar"):
        q = querying.build(querying.analyze(text))
        expected = [(h.docnum, round(h.score, 6)) for h in plain.search(q, limit=30)]
        assert expected and [(h.docnum, round(h.score, 6)) for h in fast.search(q, limit=30)] == expected


def _postings(searcher) -> dict:
    reader = searcher.reader()
    out = {}
    for field, term in reader.all_terms():
        matcher = reader.postings(field, term)
        postings = []
        while matcher.is_active():
            postings.append((matcher.id(), matcher.value(), matcher.weight()))
            matcher.next()
        out[field, term] = postings
    return out


def test_fast_document_analysis_writes_the_same_postings(tmp_path):
    """Frequencies and title positions from the fast path are byte for byte Whoosh's: stop words,
    accents, repeated words, apostrophes and dotted versions included."""
    docs = _docs(60)
    for i, doc in enumerate(docs):
        doc["title"] += " the Café’s v3.12.4 can't can not it's a printer printer" if i % 3 == 0 else ""
        doc["question"] += " Ünïcode don’t x y 3.12 printer the the" if i % 2 else ""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, fast = _build(tmp_path / "a", docs, False).searcher(), _build(tmp_path / "b", docs, True).searcher()
    expected = _postings(plain)
    assert ("title", b"printer") in expected and ("title", b"caf\xc3\xa9") not in expected
    assert _postings(fast) == expected
    for field in ("title", "question", "accepted", "answers", "tags", "category"):
        assert [fast.reader().doc_field_length(i, field) for i in range(60)] == \
               [plain.reader().doc_field_length(i, field) for i in range(60)]


def _term_infos(searcher) -> dict:
    reader = searcher.reader()
    out = {}
    for field, term in reader.all_terms():
        info = reader.term_info(field, term)
        out[field, term] = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                            info.max_weight(), info.min_id(), info.max_id())
    return out


def _blocks(searcher, field: str, term: bytes) -> list:
    """Each block's (length, last id, max weight, min/max length bytes) of one posting list."""
    matcher = searcher.reader().postings(field, term)
    out = []
    while matcher.is_active():
        out.append((matcher._blocklength, matcher._maxid, matcher._maxweight, matcher._minlength,
                    matcher._maxlength))
        matcher._next_block()
    return out


def test_fast_pool_writes_the_same_blocks_past_one_block(tmp_path):
    """Lists longer than a block (128 postings) are split, and their blocks' statistics and
    the term infos are Whoosh's own (the pool writes a block at a time)."""
    docs = _docs(400)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, fast = _build(tmp_path / "a", docs, False).searcher(), _build(tmp_path / "b", docs, True).searcher()
    assert _postings(fast) == _postings(plain)
    infos = _term_infos(plain)
    assert infos[("question", b"printer")][1] > 128 and _term_infos(fast) == infos
    long_lists = [key for key, info in infos.items() if info[1] > 128]
    assert {field for field, _term in long_lists} >= {"question", "answers"}
    for field, term in long_lists:
        blocks = _blocks(plain, field, term)
        assert len(blocks) > 1 and _blocks(fast, field, term) == blocks


def _segment_files(path, docs, fast: bool) -> dict[str, bytes]:
    """The postings and term index files of one segment of ``docs``, by extension."""
    ix = index.create_in(path, build_schema())
    writer = ix.writer(compound=False)
    if fast:
        fast_writer(writer)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return {file.suffix: file.read_bytes() for file in path.iterdir() if file.suffix in (".pst", ".trm")}


def _docs_with_extras(n: int) -> list[dict]:
    docs = _docs(n)
    for i, doc in enumerate(docs):
        doc["title"] += " the Café’s v3.12.4 can't it's a printer printer" if i % 3 == 0 else ""
        doc["question"] += f" once{i} Ünïcode don’t 3.12" if i % 2 else ""
        doc["answers"] += f" lot{i // 5}"  # terms in five documents: posting lists of one small block
        doc["learned"] = "" if i % 4 else "the and of"  # a field whose words are all stop words: no postings
    return docs


def test_fast_pool_writes_whooshs_bytes(tmp_path, monkeypatch):
    """With every block compressed, as Whoosh's writer does, the postings file and the term
    index are Whoosh's own byte for byte: one-block terms (nearly every term of a segment),
    longer lists split into blocks, stop words and title positions included."""
    monkeypatch.setattr(bulk, "SMALL_BLOCK", 0)
    docs = _docs_with_extras(300)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, fast = _segment_files(tmp_path / "a", docs, False), _segment_files(tmp_path / "b", docs, True)
    assert set(plain) == {".pst", ".trm"} and len(plain[".pst"]) > 10_000
    assert fast == plain


def _compressed(searcher, field: str, term: bytes) -> list[tuple[int, bool]]:
    """Each block's (postings, compressed?) of one posting list."""
    matcher = searcher.reader().postings(field, term)
    out = []
    while matcher.is_active():
        out.append((matcher._blocklength, bool(matcher._compression)))
        matcher._next_block()
    return out


def test_small_blocks_are_written_uncompressed_and_read_the_same(tmp_path):
    """Blocks of fewer than ``SMALL_BLOCK`` postings are left uncompressed (the rest as Whoosh
    writes them); Whoosh's reader and the ranker's numpy reader give the same postings."""
    from community.search.postings import segment_postings

    docs = _docs_with_extras(300)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, fast = _build(tmp_path / "a", docs, False).searcher(), _build(tmp_path / "b", docs, True).searcher()
    assert _postings(fast) == _postings(plain) and _term_infos(fast) == _term_infos(plain)
    blocks = {key: _compressed(fast, *key) for key in fast.reader().all_terms()
              if fast.reader().doc_frequency(*key) > 1}
    kinds = {(n < bulk.SMALL_BLOCK, packed) for key in blocks for n, packed in blocks[key]}
    assert kinds == {(True, False), (False, True)}  # small ones plain, big ones zlib, both present
    assert all(packed for key in blocks for _n, packed in _compressed(plain, *key))
    assert fast.reader().doc_frequency("question", b"printer") > 128
    for field, term in [key for key in blocks if key[0] in ("title", "question", "accepted", "answers")]:
        text = term.decode("utf-8")
        got, expected = (segment_postings(s.reader(), field, text, values=True) for s in (fast, plain))
        assert got[0].tolist() == expected[0].tolist() and got[1].tolist() == expected[1].tolist()
        assert got[2] == expected[2]
