"""``gunicorn.conf.py`` serves the app: workers as configured, /healthz, request ids in the access log."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.platform.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_gunicorn_conf_serves_healthz_and_logs_request_ids(tmp_path):
    (tmp_path / "conf_app.py").write_text(
        "from community import create_app\n"
        "from community.extensions import db\n"
        "from tests.conftest import stamp_migrations_head\n"
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path)!r}, 'SECRET_KEY': 't',\n"
        f"    'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/site.db'}})\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
        "    stamp_migrations_head(app)\n")
    port = free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "GUNICORN_ACCESSLOG": "-", "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                                 "conf_app:app"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            body = None
            for _ in range(100):
                try:
                    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz",
                                                     headers={"X-Request-ID": "probe-123"})
                    with urllib.request.urlopen(request, timeout=2) as response:
                        body, status, rid = response.read(), response.status, response.headers["X-Request-ID"]
                    break
                except OSError:
                    time.sleep(0.2)
            assert body is not None, log_path.read_text()[-2000:]
            assert status == 200 and b'"status":"ok"' in body.replace(b" ", b"") and rid == "probe-123"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/questions", timeout=5) as response:
                assert response.status == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log_path.read_text()
    assert len(re.findall(r"Booting worker with pid", text)) == 2
    assert len(re.findall(r"search warmed: \d+ segments", text)) == 2, text[-2000:]   # each worker, as it starts
    assert re.search(r'"GET /healthz HTTP/1.1" 200 \d+ \d+us request_id=probe-123', text), text[-2000:]
    # the app's own line: request id, status and time, for the page that had no id sent
    assert re.search(r"request_id=[0-9a-f]{32} method=GET path=/questions status=200 ms=[\d.]+", text), text[-2000:]


def test_a_recycled_worker_writes_what_it_held_and_is_replaced(tmp_path):
    """``worker_exit`` ends a recycled worker without the interpreter's teardown (docs/deploy.md
    "gunicorn"), but after the process's exit handlers: the views it batched in memory are written.
    One worker recycled after 3 requests, views flushed only at exit: three anonymous visitors
    (three browsers) read a thread, the third request recycles the worker, and a fourth is served
    by its replacement; the thread then counts 3 views."""
    (tmp_path / "conf_app.py").write_text(
        "from community import create_app\n"
        "from community.extensions import db\n"
        "from tests.conftest import stamp_migrations_head\n"
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path)!r}, 'SECRET_KEY': 't',\n"
        f"    'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/site.db', 'PAGE_CACHE': False,\n"
        "    'VIEW_COUNT_FLUSH_SECONDS': 3600, 'VIEW_COUNT_FLUSH_MAX': 1000, 'RATELIMIT_ENABLED': False})\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
        "    stamp_migrations_head(app)\n"
        "    from community.models import Thread\n"
        "    if db.session.query(Thread).count() == 0:\n"
        "        from community.services.accounts import users\n"
        "        from community.services.forum import threads\n"
        "        asker = users.create_user('asker', 'asker@example.com', 'password123')\n"
        "        category = threads.create_category('Billing', '')\n"
        "        threads.create_thread(asker, category, 'Where are my invoices?', 'I cannot find them anywhere.')\n"
        "        db.session.commit()\n")
    port = free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
           "GUNICORN_MAX_REQUESTS": "3", "GUNICORN_MAX_REQUESTS_JITTER": "0", "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                                 "conf_app:app"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            statuses = []
            for browser in ("one", "two", "three", "four"):
                for _ in range(100):
                    try:
                        request = urllib.request.Request(f"http://127.0.0.1:{port}/threads/1",
                                                         headers={"User-Agent": f"browser-{browser}"})
                        with urllib.request.urlopen(request, timeout=5) as response:
                            statuses.append(response.status)
                        break
                    except urllib.error.HTTPError as error:
                        statuses.append(error.code)
                        break
                    except OSError:
                        time.sleep(0.2)
                if browser == "three":   # the worker recycles after this request; wait for it
                    for _ in range(100):
                        if log_path.read_text().count("Booting worker with pid") >= 2:
                            break
                        time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log_path.read_text()
    assert statuses == [200, 200, 200, 200], text[-2000:]
    assert "Autorestarting worker" in text and text.count("Booting worker with pid") >= 2, text[-2000:]
    import sqlite3

    with sqlite3.connect(tmp_path / "site.db") as conn:
        views = conn.execute("SELECT view_count FROM threads WHERE id = 1").fetchone()[0]
    assert views >= 3, text[-2000:]   # the fourth is written when the server stops
