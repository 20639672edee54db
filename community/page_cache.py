"""Whole pages for anonymous readers, kept once and served again until a write changes them.

Most of a support community's traffic is people who are not logged in reading threads
that search engines sent them to; drawing a 50-reply thread for each of them is the same
work every time.  A view decorated with ``@cached_for_anonymous()`` is drawn once per URL
and the HTML kept:

- **Who gets a kept page.**  Only a visitor with no user (no session cookie, no remember
  cookie, no API token) and an empty session (no flash message waiting, no CSRF token, no
  ask draft), on GET or HEAD.  Anyone else is drawn afresh and never stored, so a logged-in
  visitor never sees a page drawn for someone else, nor is theirs shown to anyone.
- **What is kept.**  A 200 response that set no cookie and did not write to the session
  (``csrf_token()`` gives an empty token while such a page is drawn: its only forms are the
  vote arrows, which send anonymous visitors to log in).
- **When it is thrown away.**  Every committed transaction that wrote to a table a page
  shows (every table but those in ``PAGE_CACHE_IGNORE_TABLES``: view counts, ask events,
  mail, tokens...; and statements run with ``execution_options(changes_pages=False)``,
  such as the batched view counts, which a kept page shows up to ``PAGE_CACHE_SECONDS``
  late) moves the site's *generation* on, and a page kept under an older
  generation is not served again: a write is visible on the next request, in any worker.
  Pages also expire after ``PAGE_CACHE_SECONDS`` (their "3 minutes ago" ages).
- **Where.**  With ``REDIS_URL``: pages and the generation in Redis, shared by every
  worker of every app server (each process also holds the pages it used, at most
  ``PAGE_CACHE_MAX_ENTRIES``, and reads only the generation from Redis for those).  Without: pages in each process's memory (at most
  ``PAGE_CACHE_MAX_ENTRIES``), the generation in a file of the instance folder shared by
  the workers of this machine (several app servers need ``REDIS_URL``).

Every page of such a view carries an ``ETag``; a request whose ``If-None-Match`` names it
gets ``304 Not Modified`` with no body.  ``PAGE_CACHE = False`` turns the store off (the
ETags stay).

A request with no session or remember cookie and no ``Authorization`` header is answered from
the store before Flask sees it (``page_cache_wsgi.py``): no request context, session, user
loader or hooks, just the lookup.  Anyone else comes through the decorator below.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections import OrderedDict
from functools import wraps
from pathlib import Path

from flask import Flask, current_app, g, has_app_context, make_response, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from . import page_cache_members
from .redis_fast_reads import FastReads

#: The table a write statement changes (``INSERT INTO x``, ``UPDATE x``, ``DELETE FROM x``).
_WRITE_RE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)
_WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "WITH")


# -- the stores -----------------------------------------------------------------------

class _Recent:
    """Pages of this process, least recently used dropped first."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self.pages: OrderedDict[str, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            entry = self.pages.get(key)
            if entry is not None:
                self.pages.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple, seconds: int = 0) -> None:
        with self.lock:
            self.pages[key] = entry
            self.pages.move_to_end(key)
            while len(self.pages) > self.max_entries:
                self.pages.popitem(last=False)


class MemoryStore(_Recent):
    """Pages in this process; the generation in a file of the instance folder, whose
    modification time every worker of the machine reads."""

    def __init__(self, generation_file: Path, max_entries: int):
        super().__init__(max_entries)
        self.path = generation_file
        self.members_path = generation_file.with_name(generation_file.stem + ".members" + generation_file.suffix)
        for path in (self.path, self.members_path):
            if not path.exists():
                path.touch()

    @staticmethod
    def _read(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except FileNotFoundError:
            path.touch()
            return path.stat().st_mtime_ns

    def generation(self) -> int:
        return self._read(self.path)

    def generations(self) -> tuple[int, int]:
        """The pages and the members generations (page_cache_members.py)."""
        return self._read(self.path), self._read(self.members_path)

    def bump(self) -> None:
        """A new generation: strictly later than the last one, whatever the clock's grain."""
        self._bump(self.path)

    def bump_members(self) -> None:
        self._bump(self.members_path)

    def _bump(self, path: Path) -> None:
        now = max(time.time_ns(), self._read(path) + 1000)
        os.utime(path, ns=(now, now))


class RedisStore:
    """Pages and the generation in Redis, and a copy of the pages this process read or drew
    in its memory: a page held here of the current generation costs one small ``GET`` of the
    generation rather than the page's ~80 KB from Redis; any other lookup is one ``MGET``."""

    def __init__(self, url: str, prefix: str, site: str, max_entries: int = 2000):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.read = FastReads(self.client)   # the generation is read on every kept page
        self.generation_key = f"{prefix}:pages:{site}:generation"
        self.members_key = f"{prefix}:pages:{site}:members-generation"
        self.prefix = f"{prefix}:pages2:{site}:"  # pages2: entries name the view to tell of a hit
        self.recent = _Recent(max_entries)

    def lookup(self, key: str):
        """``(generation, entry or None)``."""
        held = self.recent.get(key)
        if held is not None:
            generation = self.read("GET", self.generation_key)
            if generation is not None and int(generation) == held[0]:
                return held[0], held
        generation, raw = self.read("MGET", self.generation_key, self.prefix + key)
        if generation is None:
            generation = self._start_generation()
        entry = _unpack(raw) if raw else None
        if entry is not None and entry[0] == int(generation):
            self.recent.put(key, entry)
        return int(generation), entry

    def _start_generation(self) -> int:
        """A first generation from the clock, not 0: after Redis lost its keys, the count
        cannot come back to a generation under which this process holds an older page."""
        self.client.set(self.generation_key, time.time_ns(), nx=True)
        return int(self.client.get(self.generation_key) or 0)

    def generation(self) -> int:
        return int(self.client.get(self.generation_key) or 0)

    def bump(self) -> None:
        self.client.incr(self.generation_key)

    def generations(self) -> tuple[int, int]:
        """The pages and the members generations (page_cache_members.py), in one round trip."""
        pages, members = self.read("MGET", self.generation_key, self.members_key)
        if pages is None:
            pages = self._start_generation()
        if members is None:
            self.client.set(self.members_key, time.time_ns(), nx=True)
            members = self.client.get(self.members_key) or 0
        return int(pages), int(members)

    def bump_members(self) -> None:
        self.client.incr(self.members_key)

    def put(self, key: str, entry: tuple, seconds: int) -> None:
        self.client.set(self.prefix + key, _pack(entry), ex=max(1, seconds))
        self.recent.put(key, entry)


def _pack(entry: tuple) -> bytes:
    generation, expires, etag, mimetype, hit, body = entry
    return b"\n".join([str(generation).encode(), str(expires).encode(), etag.encode(), mimetype.encode(),
                       hit.encode(), body])


def _unpack(raw: bytes) -> tuple:
    generation, expires, etag, mimetype, hit, body = raw.split(b"\n", 5)
    return int(generation), float(expires), etag.decode(), mimetype.decode(), hit.decode(), body


def page_key(environ: dict) -> str:
    """The store's key for a request: its scheme, host, path and query string as sent (both
    doors use it).  The host and scheme are in it because a page may carry absolute links
    (``url_for(..., _external=True)``, redirects' targets): a site answering on two hostnames,
    or on http and https, keeps one page for each."""
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    raw = (f"{environ.get('wsgi.url_scheme', 'http')}://{host.lower()}"
           f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}")
    return hashlib.sha1(raw.encode("latin-1", "replace")).hexdigest()


#: Where the front door leaves what it looked up, so that Flask does not ask the store again.
_LOOKED_UP = "community.page_cache.lookup"


def fresh_entry(app: Flask, environ: dict):
    """The kept page for this request when there is a current one, else None (also when Redis
    does not answer: the page is then drawn, and not kept)."""
    store = app.extensions.get("page_cache")
    if store is None:
        return None
    generation, entry = _lookup(store, page_key(environ), app)
    if _current(entry, generation):
        return entry
    environ[_LOOKED_UP] = (generation, entry)
    return None


def _current(entry, generation) -> bool:
    return entry is not None and entry[0] == generation and entry[1] > time.time()


def tell_hit(app: Flask, entry: tuple, remote_addr: str | None, user_agent: str) -> None:
    """Run the view's ``on_hit`` for a reader served the kept page (in an app context)."""
    if not entry[4]:
        return
    view, kwargs = json.loads(entry[4])
    on_hit = _ON_HIT.get(view)
    if on_hit is not None:
        on_hit(remote_addr, user_agent, **kwargs)


def _store():
    return current_app.extensions.get("page_cache")


def _lookup(store, key: str, app: Flask):
    """``(generation, entry)``; ``(None, None)`` when Redis does not answer: the page is then
    drawn (and not kept), the site slower but up."""
    if isinstance(store, RedisStore):
        try:
            return store.lookup(key)
        except Exception:  # noqa: BLE001 - redis.RedisError and socket errors alike
            app.logger.warning("page cache: Redis did not answer; drawing the page", exc_info=True)
            return None, None
    return store.generation(), store.get(key)


# -- the decorator ----------------------------------------------------------------------

#: A decorated view's name -> its ``on_hit``.
_ON_HIT: dict = {}


def _anonymous_reader() -> bool:
    """A request whose page is the same for every such visitor (see the module's docstring)."""
    return (request.method in ("GET", "HEAD") and not request.authorization
            and not current_user.is_authenticated and not session)


def cached_for_anonymous(on_hit=None, *, members: bool = False, on_member_hit=None):
    """Serve the view's page from the cache to anonymous readers (``on_hit(remote_addr,
    user_agent, **view_args)`` still runs for each of them, in an app context but maybe no
    request context: the thread page counts its view there).  ``members``: a signed-in
    member's page is kept too, for them alone (page_cache_members.py; ``on_member_hit(user_id,
    **view_args)`` runs when they are served it)."""

    def decorator(view):
        # Named in the entry, the same in every process: any worker can tell of a hit.
        name = f"{view.__module__}.{view.__qualname__}"
        if on_hit is not None:
            _ON_HIT[name] = on_hit

        @wraps(view)
        def wrapped(**kwargs):
            store = _store()
            found = None
            if members and request.method in ("GET", "HEAD") and not request.authorization \
                    and "_user_id" in session:   # before current_user: a kept page needs no user loaded
                kept, found = page_cache_members.lookup(kwargs, on_member_hit)
                if kept is not None:
                    return _conditional(kept, private=True)
            if not _anonymous_reader():
                response = None
                if members and request.method in ("GET", "HEAD") and current_user.is_authenticated \
                        and not request.authorization:
                    response = page_cache_members.serve(view, kwargs, on_member_hit, found)
                return _conditional(response or make_response(view(**kwargs)), private=True)
            if store is None:
                return _conditional(make_response(view(**kwargs)))
            key = page_key(request.environ)
            looked_up = request.environ.pop(_LOOKED_UP, None)
            generation, entry = looked_up or _lookup(store, key, current_app)
            if _current(entry, generation):
                tell_hit(current_app, entry, request.remote_addr, request.user_agent.string)
                return _from_entry(entry)
            hit = json.dumps([name, kwargs]) if on_hit is not None else ""
            g.drawing_cached_page = True
            response = make_response(view(**kwargs))
            g.drawing_cached_page = False
            if generation is not None and response.status_code == 200 and not session.modified and not g.get("set_visitor_cookie") \
                    and not response.headers.getlist("Set-Cookie") and not response.is_streamed:
                body = response.get_data()
                seconds = current_app.config["PAGE_CACHE_SECONDS"]
                store.put(key, (generation, time.time() + seconds, _etag(body), response.mimetype, hit, body),
                          seconds)
            return _conditional(response)

        return wrapped

    return decorator


def _etag(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()[:20]


def _from_entry(entry: tuple):
    _, _, etag, mimetype, _, body = entry
    response = current_app.response_class(body, mimetype=mimetype)
    response.set_etag(etag)
    return _conditional(response, etag_set=True)


def _conditional(response, etag_set: bool = False, private: bool = False):
    """``ETag`` on a page, and ``304`` when the request already has it.  Browsers may keep the
    page but ask each time (``no-cache``); a member's page is ``private`` (no shared cache
    between the site and them may keep it)."""
    if response.status_code != 200 or response.is_streamed or request.method not in ("GET", "HEAD"):
        return response
    if not etag_set and response.get_etag()[0] is None:   # a kept member's page comes with its own
        response.set_etag(_etag(response.get_data()))
    response.headers.setdefault("Cache-Control", "private, no-cache" if private else "no-cache")
    return response.make_conditional(request)


def csrf_token_for_page():
    """The templates' ``csrf_token()``: empty while a page for the anonymous cache is drawn (a
    token would be one visitor's, and minting it would start a session)."""
    from flask_wtf.csrf import generate_csrf

    if g.get("drawing_cached_page"):
        return ""
    if page_cache_members.drawing():
        return page_cache_members.TOKEN_MARK
    # One token a request: a member's thread page asks for it ~200 times (every vote, accept,
    # delete and moderation form), and each generate_csrf() call reads its settings again.
    token = g.get("_page_csrf_token")
    if token is None:
        token = g._page_csrf_token = generate_csrf()
    return token


# -- invalidation ------------------------------------------------------------------------

def _note_write(conn, cursor, statement, parameters, context, executemany) -> None:
    """Mark the connection's transaction as one that changes pages."""
    head = statement.lstrip()[:6].upper()
    if not head.startswith(_WRITE_WORDS) or not has_app_context():
        return
    config = current_app.config
    match = _WRITE_RE.match(statement)
    table = match.group(1).lower() if match is not None else None
    if table is not None and table in config.get("MEMBER_PAGE_IGNORE_TABLES", ()):
        return
    if context is not None and context.execution_options.get("changes_pages") is False:
        # The batched view counts: anonymous pages show them late, a member's kept page does
        # not (a member sees the count their own view made, as when every page was drawn).
        conn.info["member_pages_dirty"] = True
    elif table is None or table not in config.get("PAGE_CACHE_IGNORE_TABLES", ()):
        conn.info["page_cache_dirty"] = True
    else:
        conn.info["member_pages_dirty"] = True  # a table only members' pages show


def _on_commit(conn) -> None:
    """The commit event comes *before* the database commits: moving the generation now would
    let another worker draw the old rows under the new generation.  The move waits for the
    connection's return to the pool (``_on_checkin``), which follows the commit."""
    for flag in ("page_cache", "member_pages"):
        if conn.info.pop(f"{flag}_dirty", False):
            conn.info[f"{flag}_committed"] = True


def _on_checkin(dbapi_connection, record) -> None:
    if record is None:
        return
    pages = record.info.pop("page_cache_committed", False)
    members = record.info.pop("member_pages_committed", False)
    if (pages or members) and has_app_context():
        store = _store()
        if store is not None:
            try:
                # A pages move throws members' pages away too (they carry both generations).
                store.bump() if pages else store.bump_members()
            except Exception:  # noqa: BLE001 - Redis away: kept pages age out (PAGE_CACHE_SECONDS)
                current_app.logger.warning("page cache: could not move the generation on", exc_info=True)


def _on_rollback(conn) -> None:
    conn.info.pop("page_cache_dirty", None)
    conn.info.pop("member_pages_dirty", None)


def init_app(app: Flask) -> None:
    """The store (none when ``PAGE_CACHE`` is off), the write listeners and ``csrf_token()``."""
    if app.config.get("PAGE_CACHE", True):
        url = app.config.get("REDIS_URL")
        # Keys name the database too: two sites (or tests) sharing one Redis and prefix keep apart.
        site = hashlib.sha1(str(app.config["SQLALCHEMY_DATABASE_URI"]).encode()).hexdigest()[:10]
        most = app.config["PAGE_CACHE_MAX_ENTRIES"]
        app.extensions["page_cache"] = RedisStore(url, app.config["REDIS_KEY_PREFIX"], site, most) if url else \
            MemoryStore(Path(app.instance_path) / "page-cache.generation", most)
        members = int(app.config.get("MEMBER_PAGE_CACHE_ENTRIES", 0))
        if members > 0:
            app.extensions["member_pages"] = _Recent(members)
    # Flask-WTF puts its own in both places: the globals (for imported macros) and a context
    # processor (for templates); registered after it, these win.
    app.jinja_env.globals["csrf_token"] = csrf_token_for_page
    app.context_processor(lambda: {"csrf_token": csrf_token_for_page})
    if not event.contains(Engine, "before_cursor_execute", _note_write):
        event.listen(Engine, "before_cursor_execute", _note_write)
        event.listen(Engine, "commit", _on_commit)
        event.listen(Engine, "rollback", _on_rollback)
        event.listen(Pool, "checkin", _on_checkin)
