"""Request ids, request logging and the proxy/https settings of a production deployment.

Every response carries ``X-Request-ID``: the one the load balancer sent (when it
looks like an id: up to 128 letters, digits and ``._:-``), else a new one.  The
same id is in ``g.request_id``, in gunicorn's access log (``gunicorn.conf.py``) and
in one line per request on the ``community.request`` logger, with the status and
the time taken, so a user's complaint, the balancer's log and ours meet on one id.

``PROXY_FIX_X_FOR`` (and ``_PROTO``, ``_HOST``, ``_PORT``, ``_PREFIX``) wrap the
app in werkzeug's ``ProxyFix`` for that many trusted proxies, so that the client's
address (rate limits, the log) and scheme are the ones the balancer saw.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

logger = logging.getLogger("community.request")

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
#: Polled every few seconds by load balancers: logged at DEBUG, not INFO.
_QUIET_PATHS = frozenset({"/healthz"})


def request_id_from(value: str | None) -> str:
    """The client's id when it is a plausible one, else a fresh random id."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """The request id and log line hooks (``install_proxy_fix`` comes last, around every other
    WSGI layer: see create_app)."""
    if app.config.get("REQUEST_LOG", True):
        # logging.config.fileConfig (Alembic's env.py runs one) disables every logger that exists
        # when it runs; an app made afterwards in the same process logs again.
        logger.disabled = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        _ = app.logger  # gives the "community" logger Flask's handler (stderr, or gunicorn's error log)

    @app.before_request
    def start_request():
        g.request_id = request_id_from(request.headers.get(HEADER))
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response):
        request_id = g.get("request_id") or request_id_from(None)
        response.headers[HEADER] = request_id
        if app.config.get("REQUEST_LOG", True):
            _log(response, request_id)
        return response


def _log(response, request_id: str) -> None:
    started = g.get("request_started")
    ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    log_line(request_id, request.method, request.path, response.status_code, ms, _user_id(), request.remote_addr)


def log_line(request_id: str, method: str, path: str, status: int, ms: float, user_id, ip: str | None) -> None:
    """The one line per request (also for a kept page answered before Flask, page_cache_wsgi.py)."""
    level = logging.DEBUG if path in _QUIET_PATHS else logging.INFO
    if not logger.isEnabledFor(level):
        return
    logger.log(level, "request_id=%s method=%s path=%s status=%d ms=%.1f user=%s ip=%s",
               request_id, method, path, status, ms, user_id or "-", ip or "-",
               extra={"request_id": request_id, "method": method, "path": path,
                      "status": status, "duration_ms": round(ms, 1), "user_id": user_id})


def _user_id():
    """The signed-in user's id when Flask-Login already loaded them (never loads them for the log)."""
    user = g.get("_login_user")
    if user is None:
        return g.get("kept_member_id")      # a member's kept page, served without loading them
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


def install_proxy_fix(app: Flask) -> None:
    """The outermost WSGI layer, so that every layer inside sees the client's address and scheme."""
    counts = {name: int(app.config.get(f"PROXY_FIX_X_{name.upper()}") or 0)
              for name in ("for", "proto", "host", "port", "prefix")}
    if any(counts.values()):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=counts["for"], x_proto=counts["proto"],
                                x_host=counts["host"], x_port=counts["port"], x_prefix=counts["prefix"])
