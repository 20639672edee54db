"""Rate limits hold across gunicorn workers without Redis: the default storage is shared.

Before, the embedded default kept counters per worker (``memory://``): 60 wrong passwords for
one account sent at once through ``gunicorn -w 4`` got 35 processed against a limit of 10 per
minute, and the right password was accepted straight after.  Now the counters live in a SQLite
file in the instance folder (``community/ratelimit_storage.py``), one transaction per hit.
"""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.platform import live_server

ATTEMPTS = 40
LIMIT = 10


def _prepare(config: dict) -> None:
    from community import create_app
    from community.extensions import db
    from community.services.accounts import users

    app = create_app(config)
    with app.app_context():
        db.create_all()
        users.create_user("mem1", "mem1@example.test", "password123")
        db.session.commit()


@pytest.mark.slow
def test_login_limits_hold_across_four_workers_without_redis(tmp_path):
    config = live_server.server_config(f"sqlite:///{tmp_path / 'limits.db'}", tmp_path, RATELIMIT_ENABLED=True,
                                       LOGIN_RATE_LIMIT=f"{LIMIT} per minute", REDIS_URL=None,
                                       # a checked password takes a while, so attempts overlap and
                                       # spread over the workers (one request at a time each)
                                       PASSWORD_HASH_METHOD="pbkdf2:sha256:150000")
    assert "RATELIMIT_STORAGE_URI" not in config  # the default, as a site without Redis runs
    _prepare(config)
    # The ways one account can be typed: each must count against the same bucket.
    spellings = ["mem1", "MEM1", "  Mem1 ", "mem1@example.test", "MEM1@Example.Test"]
    with live_server.gunicorn(config, tmp_path, workers=4, threads=1) as base:
        def wrong(i: int) -> int:
            client = live_server.Client(base, headers={"X-Attempt": str(i)})
            return client.form("/login", {"login": spellings[i % len(spellings)], "password": "wrong"})[0]

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = Counter(pool.map(wrong, range(ATTEMPTS)))
        right = live_server.Client(base).form("/login", {"login": "mem1", "password": "password123"})[0]
    assert statuses == Counter({400: LIMIT, 429: ATTEMPTS - LIMIT}), statuses
    assert right == 429, "the right password got through while the account was throttled"
    assert (tmp_path / "instance" / "ratelimits.sqlite3").exists()
