"""A site's index history does not change its ranking: Whoosh keeps a re-indexed document's old
copy, deleted, in its segment until a merge, and counts it in every document frequency."""
from __future__ import annotations

import pytest

from community import search
from community.search import query as querying


@pytest.mark.whoosh_only  # PostgreSQL counts live rows
def test_re_indexing_every_thread_changes_no_suggestion(app, make, db, monkeypatch):
    """With the common-stem floor at 3 documents (200 on a real site): "battery" is in 3 threads,
    so it selects; once every thread was re-indexed its frequency reads 6, and it would only add
    to the threads "drain" finds, losing the one that says "battery" alone."""
    monkeypatch.setattr(querying, "COMMON_MIN_DF", 3)
    category = make.category("Devices")
    titles = ["Battery drains overnight", "Battery icon missing", "Replace the battery",
              "Screen flickers after drain of power", "Wifi drops at night", "Bluetooth pairing fails"]
    threads = [make.thread(category=category, title=title, body=f"{title}. What can I do?") for title in titles]
    db.session.commit()
    query = "battery drain"
    state = app.extensions["search"]

    def split():
        return state.reading(True, lambda s: querying.split_common(querying.prune(querying.analyze(query), s), s))

    def suggested():
        state._suggest_cache.clear()
        return [r["id"] for r in search.suggest(query, limit=10)]

    fresh_split, fresh = split(), suggested()
    assert fresh_split == (["batteri", "drain"], [])
    assert set(fresh) == {t.id for t in threads[:4]}
    search.touch(*(f"thread:{t.id}" for t in threads))
    counts = state.reading(True, lambda s: (s.doc_count_all(), s.doc_count()))
    assert counts == (12, 6)  # the old copies are still counted
    assert split() == fresh_split
    assert suggested() == fresh
