"""The term-set files beside each Whoosh segment (``search/sidecar.py``).

Written after every commit (incremental, merge, bulk writer, rebuild), removed with their
segment, checked on every read (a missing, stale or corrupt file falls back to Whoosh's term
index, with the same answers), and read the same by another process.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from community.search import bulk, sidecar
from community.search import query as querying
from community.search.postings import SegmentColumns
from community.search.whoosh_index import INDEX_NAME, WhooshIndex
from tests.search.test_ranker import _doc

ROOT = Path(__file__).resolve().parents[2]


def _write(ix: WhooshIndex, docs, **commit):
    writer = ix.writer()
    for doc in docs:
        writer.add_document(**doc)
    writer.commit(**commit)


def _leaves(ix: WhooshIndex):
    reader = ix.index().reader()
    return reader, [leaf for leaf, _offset in reader.leaf_readers()]


def _files(ix: WhooshIndex) -> set[str]:
    return {p.name for p in ix.path.glob("*" + sidecar.SUFFIX)}


@pytest.fixture()
def ix(tmp_path):
    found = WhooshIndex(str(tmp_path / "index"))
    rng = random.Random(3)
    docs = [_doc(i, rng) for i in range(240)]
    for part in (docs[:100], docs[100:180], docs[180:]):
        _write(found, part, merge=False)
    yield found
    found.close()


def test_every_commit_writes_each_new_segment_s_term_sets(ix):
    reader, leaves = _leaves(ix)
    assert len(leaves) == 3
    assert _files(ix) == {leaf._segment.segment_id() + sidecar.SUFFIX for leaf in leaves}
    for leaf in leaves:
        kept = sidecar.read_words(leaf)
        for field in sidecar.WORD_FIELDS:
            assert kept[field] == sidecar.segment_words(leaf, field) and kept[field]
    reader.close()


def test_a_merge_writes_the_merged_segment_s_file_and_the_old_ones_go_with_their_segments(ix):
    before = _files(ix)
    _write(ix, [], optimize=True)
    reader, leaves = _leaves(ix)
    assert len(leaves) == 1
    assert _files(ix) == {leaves[0]._segment.segment_id() + sidecar.SUFFIX}
    assert not before & _files(ix)
    assert sidecar.read_words(leaves[0])["title"] == sidecar.segment_words(leaves[0], "title")
    reader.close()


def test_the_bulk_writer_s_commits_write_them_too(tmp_path):
    ix = WhooshIndex(str(tmp_path / "bulk"))
    rng = random.Random(5)
    writer = bulk.fast_writer(ix.writer())
    for i in range(50):
        writer.add_document(**_doc(i, rng))
    writer.commit()
    reader, leaves = _leaves(ix)
    assert sidecar.read_words(leaves[0])["question"] == sidecar.segment_words(leaves[0], "question")
    reader.close()
    ix.close()


@pytest.mark.parametrize("damage", ["missing", "truncated", "flipped", "other segment's"])
def test_a_missing_or_bad_file_falls_back_to_the_index_with_the_same_answers(ix, damage):
    reader, leaves = _leaves(ix)
    target = sidecar.words_path(ix.path, leaves[0]._segment.segment_id())
    data = target.read_bytes()
    if damage == "missing":
        target.unlink()
    elif damage == "truncated":
        target.write_bytes(data[:-7])
    elif damage == "flipped":
        target.write_bytes(data[:-3] + bytes([data[-3] ^ 1]) + data[-2:])
    else:
        target.write_bytes(sidecar.words_path(ix.path, leaves[1]._segment.segment_id()).read_bytes())
    assert sidecar.read_words(leaves[0]) is None
    columns = SegmentColumns(leaves[0])
    assert columns.words("title") == sidecar.segment_words(leaves[0], "title")
    assert querying.one_edit_terms(reader, "title", "printr") == {"printer"}
    # The next commit writes it again.
    _write(ix, [_doc(999, random.Random(1))], merge=False)
    assert sidecar.read_words(leaves[0])["title"] == sidecar.segment_words(leaves[0], "title")
    reader.close()


def test_an_index_written_without_them_gets_them_at_its_next_commit_and_a_failed_write_keeps_the_commit(
        ix, monkeypatch):
    for path in ix.path.glob("*" + sidecar.SUFFIX):
        path.unlink()

    def broken(reader, folder):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(sidecar, "write_words", broken)
        _write(ix, [_doc(500, random.Random(2))], merge=False)
    assert not _files(ix)
    with ix.index().searcher() as searcher:
        assert searcher.document(key="thread:500") is not None
    _write(ix, [_doc(501, random.Random(2))], merge=False)
    reader, leaves = _leaves(ix)
    assert _files(ix) == {leaf._segment.segment_id() + sidecar.SUFFIX for leaf in leaves}
    reader.close()


def test_replace_all_the_rebuild_writes_the_new_segment_s_file(ix):
    rng = random.Random(8)
    ix.replace_all(_doc(i, rng) for i in range(30))
    reader, leaves = _leaves(ix)
    assert len(leaves) == 1 and _files(ix) == {leaves[0]._segment.segment_id() + sidecar.SUFFIX}
    assert sidecar.read_words(leaves[0])["title"] == sidecar.segment_words(leaves[0], "title")
    reader.close()


def test_another_process_reads_the_same_files(ix):
    reader, leaves = _leaves(ix)
    here = {leaf._segment.segment_id(): {f: sorted(sidecar.read_words(leaf)[f]) for f in sidecar.WORD_FIELDS}
            for leaf in leaves}
    reader.close()
    code = ("import json, sys\n"
            "from whoosh import index\n"
            "from community.search import sidecar\n"
            f"ix = index.open_dir(sys.argv[1], indexname={INDEX_NAME!r})\n"
            "reader = ix.reader()\n"
            "print(json.dumps({leaf._segment.segment_id(): {f: sorted(sidecar.read_words(leaf)[f])\n"
            "                  for f in sidecar.WORD_FIELDS} for leaf, _o in reader.leaf_readers()}))\n")
    done = subprocess.run([sys.executable, "-c", code, str(ix.path)], cwd=ROOT, capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert json.loads(done.stdout) == here


def test_the_files_hold_the_fields_typo_correction_reads():
    assert sidecar.WORD_FIELDS == querying.TYPO_FIELDS
