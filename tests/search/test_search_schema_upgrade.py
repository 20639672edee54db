"""An upgrade that changes the Whoosh schema: the index is rebuilt from the database by the app
itself, and until it is, searches say "being rebuilt" (503), never a page of no results."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from community import search
from community.search.schema import SCHEMA_VERSION
from community.search.whoosh_index import REBUILD_MARKER, VERSION_FILE


def _wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_an_index_of_an_older_schema_is_rebuilt_in_the_background_and_says_so_meanwhile(app, make, db, client,
                                                                                         monkeypatch):
    thread = make.thread(title="Zebra printer ribbon keeps jamming", body="The ribbon jams after every label.")
    db.session.commit()
    assert [r["id"] for r in search.suggest("zebra ribbon jamming")] == [thread.id]

    # The deployed code's schema is newer than the index on disk (as after `git pull`).
    state = app.extensions["search"]
    state.index.close()
    folder = Path(app.config["SEARCH_INDEX_DIR"])
    (folder / VERSION_FILE).write_text(str(SCHEMA_VERSION - 1))
    release = threading.Event()
    rebuild = state.rebuild
    monkeypatch.setattr(state, "rebuild", lambda progress=None: release.wait(20) and rebuild(progress))

    answer = client.get("/api/v1/suggest?q=zebra+ribbon+jamming")
    assert answer.status_code == 503
    assert "being rebuilt" in answer.get_json()["error"]["message"]
    assert (folder / REBUILD_MARKER).exists()
    page = client.get("/search?q=zebra+ribbon")
    assert page.status_code == 503 and b"being rebuilt" in page.data
    # A load balancer keeps the server: everything but search works.
    health = client.get("/healthz").get_json()["checks"]["search"]
    assert health == {"ok": True, "rebuilding": True, "ms": health["ms"]}
    status = app.test_cli_runner().invoke(args=["search", "status"])
    assert status.exit_code == 0 and "being rebuilt" in status.output, status.output

    release.set()
    assert _wait_for(lambda: not search.rebuilding()), "the background rebuild did not finish"
    assert not (folder / REBUILD_MARKER).exists()
    assert [r["id"] for r in client.get("/api/v1/suggest?q=zebra+ribbon+jamming").get_json()["results"]] == [thread.id]
    assert client.get("/healthz").get_json()["checks"]["search"]["documents"] == 1


def test_a_current_index_is_opened_as_it_is(app, make, db):
    make.thread(title="Zebra printer ribbon keeps jamming")
    db.session.commit()
    state = app.extensions["search"]
    state.index.close()
    assert search.rebuilding() is False
    assert search.count() == 1
    assert not (Path(app.config["SEARCH_INDEX_DIR"]) / REBUILD_MARKER).exists()
