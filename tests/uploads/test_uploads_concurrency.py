"""The same image uploaded many times at once is stored once, through gunicorn, on both databases.

A member's editor may send one picture several times (a double paste, a retried request). Fired
BURST times at the same moment by one member against 4 worker processes × 2 threads: no 5xx,
exactly one ``201 Created`` and the rest ``200`` with the same URL, one row, one file on disk and
no temporary file left behind.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.platform import live_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not live_server.GUNICORN.exists(), reason="gunicorn is not installed")]

BURST = 10


database_url = live_server.database_fixture("uploads_conc")


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


def _prepare(config: dict) -> None:
    from community import create_app
    from community.extensions import db
    from community.services.accounts import users

    app = create_app(config)
    with app.app_context():
        db.create_all()
        users.create_user("painter", "painter@example.com", "password123")
        db.session.commit()
        db.engine.dispose()


def test_one_picture_sent_ten_times_at_once_is_stored_once(database_url, tmp_path):
    config = live_server.server_config(database_url, tmp_path)
    _prepare(config)
    picture, answers = _png(), []
    with live_server.gunicorn(config, tmp_path, workers=4, threads=2) as base:
        member = live_server.Client(base).login("painter")

        def upload():
            answer = member.upload("/uploads", "file", "error.png", picture, "image/png")
            answers.append(answer)
            return answer

        statuses = live_server.burst([upload] * BURST)
    assert sorted(statuses) == [200] * (BURST - 1) + [201], [a[1][:200] for a in answers if a[0] >= 300]
    urls = {json.loads(raw)["url"] for _status, raw in answers}
    assert len(urls) == 1

    from community import create_app
    from community.extensions import db
    from community.models import Upload

    app = create_app(config)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Upload)).scalar_one() == 1
        folder = Path(app.config["UPLOAD_DIR"])
        db.engine.dispose()
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 1 and urls == {f"/uploads/{files[0]}"}, files
