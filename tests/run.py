"""Run the whole test suite twice: on SQLite, then on PostgreSQL with Redis (what CI runs).

    .venv/bin/python tests/run.py [PYTEST ARGS...]

1. The whole suite on a temporary SQLite file per test (what ``python -m pytest`` does).
2. The whole suite again, but for the browser tests (``TEST_PG_MARK``, default
   ``"not browser"``), with ``TEST_DATABASE_URL`` on a PostgreSQL database made for the
   run (and dropped after it) and ``REDIS_URL`` for the shared limits and the page cache.
   The browser tests' live servers always run on SQLite files of their own, so pass 2
   would repeat pass 1 for them; ``TEST_PG_MARK=`` (empty) runs them too.  Where no
   PostgreSQL server answers, pass 2 is skipped with a message saying so, not failed;
   where Redis does not answer, pass 2 runs without it and says so.

Both passes run on ``TEST_WORKERS`` processes (pytest-xdist ``-n``; default: one per CPU, at
most 4; ``1`` for none): every test has its own instance folder, and each worker its own
PostgreSQL database and Redis keys (tests/databases.py).  ``TEST_PASSES=sqlite`` (or
``postgresql``) runs one pass.

Settings (environment): ``TEST_PG_ADMIN_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``, a database to connect to while creating
the run's own), ``TEST_PG_DATABASE`` (the name to create, default
``community_suite_<pid>``; it is emptied and dropped), ``TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/4``; the run's keys are deleted before each test).  Extra
arguments go to both pytest runs.
Exits non-zero when either pass failed.
"""
from __future__ import annotations

import sys

# Run as a script, this folder is first on sys.path, and tests/platform would shadow the
# standard library's ``platform`` module (which redis and uuid import).
_HERE = __import__("os").path.dirname(__import__("os").path.abspath(__file__))
sys.path[:] = [p for p in sys.path if __import__("os").path.abspath(p or ".") != _HERE]

import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _workers() -> list[str]:
    """``-n N`` for pytest-xdist, or nothing when it is not installed or one worker is asked."""
    try:
        import xdist  # noqa: F401
    except ImportError:
        return []
    count = int(os.environ.get("TEST_WORKERS") or min(os.cpu_count() or 1, 4))
    return ["-n", str(count)] if count > 1 else []


def _pytest(args: list[str], env: dict) -> tuple[int, dict]:
    """Run pytest, echoing its output; returns its exit code and the counts of its closing line."""
    proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    counts: dict[str, int] = {}
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if re.match(r"^=*\s*\d+ \w+.* in [\d.]+s", line.strip()) or re.match(r"^\d+ (passed|failed)", line.strip()):
            counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", line)}
    return proc.wait(), counts


def _postgres(admin_url: str, name: str):
    """Create the pass's database; returns its SQLAlchemy URL, or None and why not."""
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - no server, no rights: skip the pass
        return None, f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    base = admin_url.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+psycopg://{base}/{name}", None


def _drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _redis(url: str):
    """None when Redis answers at ``url``, else why not."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{exc.__class__.__name__}"


def main(argv: list[str]) -> int:
    passes = os.environ.get("TEST_PASSES", "sqlite,postgresql").split(",")
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "REDIS_URL")}
    if not any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in argv):
        argv = [*_workers(), *argv]
    results = {}
    if "sqlite" in passes:
        print("== pass 1: the whole suite on SQLite ==", flush=True)
        started = time.monotonic()
        results["SQLite, whole suite"] = (*_pytest(argv, env), time.monotonic() - started)
    if "postgresql" in passes:
        admin = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
        name = os.environ.get("TEST_PG_DATABASE", f"community_suite_{os.getpid()}")
        url, why = _postgres(admin, name)
        if url is None:
            print(f"== pass 2 SKIPPED: no PostgreSQL server answers at {admin.split('@')[-1]} ({why}). "
                  "Start one (or set TEST_PG_ADMIN_URL) to run the suite on PostgreSQL. ==", flush=True)
        else:
            redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")
            redis_missing = _redis(redis_url)
            pg_env = {**env, "TEST_DATABASE_URL": url}
            if redis_missing:
                print(f"== Redis does not answer at {redis_url} ({redis_missing}): "
                      "pass 2 runs without Redis ==", flush=True)
            else:
                pg_env["REDIS_URL"] = redis_url
            mark = os.environ.get("TEST_PG_MARK", "not browser")
            what = f'the tests "{mark}"' if mark else "the whole suite"
            print(f"== pass 2: {what} on PostgreSQL ({name}){'' if redis_missing else ' with Redis'} ==",
                  flush=True)
            started = time.monotonic()
            try:
                results[f"PostgreSQL, {what}"] = (*_pytest([*(["-m", mark] if mark else []), *argv], pg_env),
                                                  time.monotonic() - started)
            finally:
                _drop(admin, name)
    print("== summary ==")
    total = {"passed": 0, "failed": 0, "skipped": 0}
    for label, (code, counts, seconds) in results.items():
        verdict = "ok" if code == 0 else f"FAILED (pytest exit {code})"
        shown = ", ".join(f"{n} {w}" for w, n in counts.items())
        print(f"  {label}: {verdict}, {shown or 'no counts'} in {seconds / 60:.1f} min")
        total["passed"] += counts.get("passed", 0)
        total["failed"] += counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
        total["skipped"] += counts.get("skipped", 0)
        if code != 0 and not counts.get("failed"):
            total["failed"] += 1  # a pass that broke without a count (collection error, crash)
    print(f"{total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
    return 0 if all(code == 0 for code, _, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
