"""``gunicorn.conf.py`` serves the app: workers as configured, /healthz, request ids in the access log."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
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
