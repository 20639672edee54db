"""gunicorn settings for the community site: ``gunicorn wsgi:app`` reads this file from the
working directory.  Every value can be changed by an environment variable (below) or on the
command line (``-w 8`` beats ``WEB_CONCURRENCY``, which beats the default).

Workers are processes (sync, one request each at a time): 2 per core + 1, at most 12, is
gunicorn's own advice for an app that waits on its database.  Requests slower than
``timeout`` are killed and logged (the worker is restarted); ``max_requests`` recycles
workers now and then so a slow leak cannot grow without end.
"""
import multiprocessing
import os
import sys


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = _int("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 12))
threads = _int("GUNICORN_THREADS", 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync" if threads == 1 else "gthread")

# A request slower than this is killed (the worker restarts); a restart lets running requests end.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Behind a load balancer that keeps connections open: longer than ours is idle, shorter than its.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# A leak guard, not a routine: with pages served from the cache at hundreds a second, 2,000
# recycled each worker every few seconds, and under load both at once left no worker serving
# for seconds (bench/pages.py, docs/deploy.md "Speed").
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
# The app is built once in the master and workers fork from it: a recycled worker is serving
# again in milliseconds, not after seconds of imports (with pages served from the cache in
# under a millisecond, 2,000 requests pass in seconds).  GUNICORN_PRELOAD=0 builds it per worker.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") not in ("0", "false", "no")
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)
# Heartbeat files in memory rather than on a disk that may stall (containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# X-Forwarded-Proto etc. are honoured by the app (PROXY_FIX_* settings), not by gunicorn.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The app logs one line per request itself (logger "community.request", to stderr: request id,
# method, path, status, ms, user, client address; REQUEST_LOG=false turns it off).  gunicorn's
# access log is off by default so that a request is not logged twice; GUNICORN_ACCESSLOG=- (or a
# path) turns it on, in this format: the request id (X-Request-ID, sent or made by the app) and
# the time taken in microseconds.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = ('%(h)s "%(r)s" %(s)s %(B)s %(D)sus request_id=%({x-request-id}o)s '
                     '"%(f)s" "%(a)s"')


def post_fork(server, worker):
    """A forked worker opens database connections of its own: those of the preloaded master
    (if any were opened) are left to the master, never shared between processes."""
    app = server.app.wsgi()
    if "sqlalchemy" in getattr(app, "extensions", {}):
        from community.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)


def post_worker_init(worker):
    """Before a worker takes its first request, it reads what its first searches would
    (``community.search.warm``: each index segment's lengths and typo term sets), so no
    visitor pays that; a failure is logged and the worker serves anyway (a search then reads
    it itself, or answers "search unavailable")."""
    app = worker.app.wsgi()
    if not getattr(app, "config", {}).get("SEARCH_WARM_ON_START", True):
        return
    try:
        from community import search

        with app.app_context():
            segments = search.warm()
        worker.log.info("search warmed: %d segments", segments)
    except Exception:  # noqa: BLE001 - a warm-up is an optimisation, never a reason not to serve
        worker.log.exception("search warm-up failed; serving without it")


def worker_exit(server, worker):
    """A worker that served and stops cleanly (recycled after ``max_requests``, or told to stop)
    runs the process's exit handlers (the background appliers' drain, the batched view counts,
    logging), closes its database connections, and ends at once, without the interpreter's
    teardown of the whole preloaded app: that teardown took 0.8-1.4 s on this machine, during
    which the master had not reaped it, so no worker took its place, and with two workers
    recycled together nobody served (bench/pages.py, docs/deploy.md "gunicorn").  A worker that
    failed to boot, or ends on an error, exits the ordinary way, so that gunicorn reads its
    exit code (a boot error stops the master instead of respawning for ever)."""
    import atexit

    ending = sys.exc_info()[1]
    if not worker.booted or not isinstance(ending, SystemExit) or ending.code not in (0, None):
        return
    atexit._run_exitfuncs()
    app = worker.app.wsgi()
    if "sqlalchemy" in getattr(app, "extensions", {}):
        from community.extensions import db

        with app.app_context():
            db.engine.dispose()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)
