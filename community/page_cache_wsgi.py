"""The front door for anonymous readers: a kept page (page_cache.py) answered before Flask.

A kept page is the same for every visitor with no user and an empty session, but answering
it through Flask still pays for the request context, the session, the user loader and every
hook, several times the cost of the lookup (a 50-reply thread from the cache: ~0.8 ms of
worker CPU against ~0.3 ms for a "hello" app).  This WSGI layer answers a request that
certainly is such a visitor's, and that has a current kept page, with no Flask at all:

- **Who.**  ``GET`` or ``HEAD``, no ``Authorization`` header, and no session or remember cookie
  (by name; any other cookie is fine).  Without those cookies Flask would find no user and an
  empty session, so this is a subset of the visitors the decorator serves from the store; a
  request with an (even empty) session cookie goes through Flask and the decorator as before.
- **The answer** is the one Flask gives for the same entry: the body, its ``ETag``
  (``304`` on a matching ``If-None-Match``), ``Cache-Control: no-cache``, ``Vary: Cookie``, ``Date``, the
  security headers (security_headers.py), ``X-Request-ID`` and the request's log line
  (request_log.py); the view's ``on_hit`` runs (the thread page counts the view).
- **Anything else** (no entry, a stale one, Redis away, another method) goes to Flask.
- **Every request** first runs ``app.extensions["per_request_starts"]`` (cheap checks that
  start this process's background threads once, such as the search queue's applier).
"""
from __future__ import annotations

import time

from flask import Flask
from werkzeug.http import http_date, is_resource_modified, parse_cookie

from . import page_cache, request_log

_REQUEST_ID = "HTTP_X_REQUEST_ID"
#: Paths no kept page has: the API, static files, the balancer's check.
_NEVER_KEPT = ("/api/", "/static/", "/healthz")


class FrontDoor:
    """WSGI middleware in front of ``app.wsgi_app`` (see the module's docstring)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        self.login_cookies = {app.config.get("SESSION_COOKIE_NAME", "session"),
                              app.config.get("REMEMBER_COOKIE_NAME", "remember_token")}
        self.log = app.config.get("REQUEST_LOG", True)
        self.starts = app.extensions.setdefault("per_request_starts", [])

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        # What every serving process must run, such as the search queue's applier: a worker
        # that answers only kept pages never reaches Flask's before_request, and rows a dead
        # worker left in the queue would wait for as long as every page stayed kept.
        for start in self.starts:
            start()
        if not self._anonymous(environ):
            return self.wsgi_app(environ, start_response)
        entry = page_cache.fresh_entry(self.app, environ)
        if entry is None:
            return self.wsgi_app(environ, start_response)
        return self._answer(environ, start_response, entry, started)

    def _anonymous(self, environ) -> bool:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or environ.get("HTTP_AUTHORIZATION"):
            return False
        if environ.get("PATH_INFO", "").startswith(_NEVER_KEPT):
            return False  # not worth a lookup (with Redis, a round trip)
        cookies = environ.get("HTTP_COOKIE")
        return not cookies or not self.login_cookies.intersection(parse_cookie(cookies))

    def _answer(self, environ, start_response, entry, started):
        _, _, etag, mimetype, _, body = entry
        request_id = request_log.request_id_from(environ.get(_REQUEST_ID))
        headers = [("ETag", f'"{etag}"'), ("Cache-Control", "no-cache"), ("Vary", "Cookie"), ("Date", http_date()),
                   *self.app.extensions["security_headers"](environ.get("wsgi.url_scheme") == "https"),
                   ("X-Request-ID", request_id)]
        if is_resource_modified(environ, etag=etag):
            status, code = "200 OK", 200
            headers[:0] = [("Content-Type", _content_type(mimetype)), ("Content-Length", str(len(body)))]
        else:
            status, code, body = "304 NOT MODIFIED", 304, b""
        remote_addr = environ.get("REMOTE_ADDR")
        with self.app.app_context():
            page_cache.tell_hit(self.app, entry, remote_addr, environ.get("HTTP_USER_AGENT", ""))
        if self.log:
            path = environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")
            request_log.log_line(request_id, environ["REQUEST_METHOD"], path, code,
                                 (time.perf_counter() - started) * 1000, None, remote_addr)
        start_response(status, headers)
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def _content_type(mimetype: str) -> str:
    return f"{mimetype}; charset=utf-8" if mimetype.startswith("text/") else mimetype


def init_app(app: Flask) -> None:
    """In front of the app's WSGI callable, when kept pages are on (``REQUEST_LOG`` etc. as for Flask)."""
    if app.extensions.get("page_cache") is not None:
        app.wsgi_app = FrontDoor(app, app.wsgi_app)
