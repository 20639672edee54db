"""One PostgreSQL database (and one Redis key prefix) per pytest-xdist worker.

``python -m pytest -n 2`` runs two worker processes at once.  Tests on SQLite each have a
file of their own, but the PostgreSQL databases named by a URL (``TEST_DATABASE_URL``, the
search tests' ``search_test``, the ticket tests' ``tickets_test``) are emptied by every
test: two workers on one database would empty each other's rows mid-test.  Under xdist
each worker therefore gets its own copy of each such database, named after the worker
(``community_test_gw0``), created on first use and dropped when the worker ends; the
Redis database of ``REDIS_URL`` is shared, so each worker keeps its keys under its own
prefix (``REDIS_KEY_PREFIX``) and empties only those.  Outside xdist nothing changes.
"""
from __future__ import annotations

import os

#: Databases this worker created (dropped by ``drop_created``).
_created: list[str] = []


def worker() -> str | None:
    """``gw0``, ``gw1``, ... under pytest-xdist; None in a plain run."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def _admin_url(url: str) -> str:
    """A libpq URL to the server's ``postgres`` database (to create and drop others)."""
    base = url.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{base}/postgres"


def for_worker(url: str) -> str:
    """``url`` itself, or under xdist the same server's database ``<name>_<worker>``, created
    when missing.  A server that does not answer leaves the URL as it is: the tests that
    need it skip or fail on their own, saying why."""
    name = worker()
    if not name or not url.startswith("postgresql"):
        return url
    head, database = url.rsplit("/", 1)
    database, _, query = database.partition("?")
    mine = f"{database}_{name}"
    try:
        import psycopg

        with psycopg.connect(_admin_url(url), autocommit=True, connect_timeout=3) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (mine,)).fetchone():
                conn.execute(f'CREATE DATABASE "{mine}"')
                _created.append(url.split("://", 1)[1].rsplit("/", 1)[0] + "|" + mine)
    except Exception:  # noqa: BLE001 - no server, no psycopg: callers decide
        return url
    return f"{head}/{mine}" + (f"?{query}" if query else "")


def drop_created() -> None:
    """Drop the databases this worker created (at the end of its session)."""
    import psycopg

    while _created:
        base, name = _created.pop().split("|")
        try:
            with psycopg.connect(f"postgresql://{base}/postgres", autocommit=True, connect_timeout=3) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:  # noqa: BLE001 - the server went away: nothing left to drop
            pass


def redis_prefix() -> str:
    """The key prefix the app uses in Redis during this run (``REDIS_KEY_PREFIX``)."""
    name = worker()
    return f"community-test-{name}" if name else "community-test"


def empty_redis(url: str) -> None:
    """Delete this run's (this worker's) keys from the Redis database at ``url``."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{redis_prefix()}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
