"""Whole pages kept for one signed-in member, served again until any write could change them.

A member's 50-reply thread page cost ~12-19 ms of CPU to draw even with its post cards kept
(views/post_cards.py): the rest of the template, reading the posts, the panels.  A member who
reads a thread, goes back to it, or reloads it gets the same HTML again, so a page drawn for a
member is kept in the process for that member and served to them while nothing changed:

- **Whose.**  The key is the request's scheme, host, path and query, the member's id, the
  contents of their session (but the CSRF token) and their other cookies (the visitor id the
  deflection prompt reads).  No two members share a page, nor two sessions of one member:
  a logged-in visitor never sees a page drawn for someone else.  A session with a flash
  message waiting is drawn afresh (drawing it shows and removes the message).
- **When it is thrown away.**  A kept member page carries the two generations of the store
  (page_cache.py) it was drawn under: the *pages* generation, moved on by any write to a table
  an anonymous page shows, and the *members* generation, moved on by a write to the tables only
  a member's page shows (their notifications, subscriptions and watch levels, ask sessions):
  every table but ``MEMBER_PAGE_IGNORE_TABLES``.  Either moving on throws it away, in every
  worker (the generations are shared: Redis or the instance folder).  Pages also expire after
  ``PAGE_CACHE_SECONDS`` (their "3 minutes ago" ages).  The member's own view of the thread
  page (marking it read) writes only when something changed, and that write moves the members
  generation on, so a kept page is never one whose drawing would have written.
- **The CSRF token.**  The page is drawn with a placeholder where the token goes
  (``csrf_token()`` and the post cards), kept so, and the request's own token is put in each
  time it is served: a kept page never carries a token of another request.
- **Where.**  Each worker's memory, at most ``MEMBER_PAGE_CACHE_ENTRIES`` (least recently used
  dropped first; 0 turns this off).  Not in Redis: a member's page is only ever theirs, and
  the copy costs each worker one drawing.
- **No user loaded for a kept page.**  Flask-Login's user loader (a query, two thirds of a kept
  page's CPU) does not run for it: ``lookup`` finds the entry from the session's ``_user_id``
  (the member's id and ``session_version``) before anything touches ``current_user``.  That is
  what the loader would say: the entry was drawn for that member, loaded and valid, after the
  generations it carries were read, and any write to ``users`` since (a role changed, a
  suspension, a password change or "log out everywhere" moving ``session_version`` on, an account
  deleted) moved the pages generation on, so the entry is no longer current and the request
  goes through the loader.  Logging out removes ``_user_id`` from the session (anonymous from
  then on).  Flask-Login's session protection is kept: a request whose address or browser
  differs from the session's (``_id``) is drawn, through the loader.
"""
from __future__ import annotations

import hashlib
import time

from flask import current_app, g, make_response, request, session
from flask_login import current_user

#: Drawn where the CSRF token goes; replaced by the request's token (post cards use it too).
TOKEN_MARK = "csrf-token-of-this-request"
_MARK = TOKEN_MARK.encode()


def drawing() -> bool:
    """Whether the page being drawn is one to keep for a member (``csrf_token()`` gives the mark)."""
    return bool(g.get("drawing_member_page"))


def _key(user_id: int) -> str:
    environ = request.environ
    cookie_name = current_app.config.get("SESSION_COOKIE_NAME", "session")
    others = sorted((k, v) for k, v in request.cookies.items(multi=True) if k != cookie_name)
    own = sorted((k, repr(v)) for k, v in session.items() if k != "csrf_token")
    raw = repr((environ.get("wsgi.url_scheme"), request.host.lower(), request.script_root, request.path,
                environ.get("QUERY_STRING", ""), user_id, own, others))
    return hashlib.sha1(raw.encode("utf-8", "replace")).hexdigest()


def _token() -> bytes:
    from flask_wtf.csrf import generate_csrf

    return generate_csrf().encode()


def _session_member() -> int | None:
    """The member id the session names (``_user_id`` is ``"<id>:<session_version>"``), if its
    address and browser are the ones Flask-Login's session protection expects."""
    from .extensions import login_manager

    ident, _, _version = str(session.get("_user_id") or "").partition(":")
    if not ident.isdigit():
        return None
    mode = current_app.config.get("SESSION_PROTECTION", login_manager.session_protection)
    if mode in ("basic", "strong") and session.get("_id") != login_manager._session_identifier_generator():
        return None
    return int(ident)


def _kept(app, entry: tuple):
    """A kept page with this request's form token, and its ``ETag`` from the page's digest taken
    when it was kept and the token (hashing the whole page again on every hit cost a tenth of
    the hit's CPU)."""
    token = _token()
    response = app.response_class(entry[3].replace(_MARK, token), mimetype=entry[2])
    response.set_etag(hashlib.sha1(entry[4] + token).hexdigest()[:20])
    return response


def lookup(kwargs: dict, on_hit=None):
    """Before the user is loaded: ``(response, None)`` when the session's member has a current
    kept page (served without running the user loader, see the module's docstring), else
    ``(None, found)`` where ``found`` is ``(user_id, generations, key)`` for ``serve`` (the
    generations read before the user is loaded) or None."""
    app = current_app._get_current_object()
    store, pages = app.extensions.get("member_pages"), app.extensions.get("page_cache")
    user_id = _session_member()
    if store is None or pages is None or user_id is None or "_flashes" in session:
        return None, None
    try:
        generations = pages.generations()
    except Exception:  # noqa: BLE001 - Redis away: drawn, not kept
        app.logger.warning("page cache: Redis did not answer; drawing the member's page", exc_info=True)
        return None, None
    key = _key(user_id)
    entry = store.get(key)
    if entry is not None and entry[0] == generations and entry[1] > time.time():
        if on_hit is not None:
            on_hit(user_id, **kwargs)
        g.kept_member_id = user_id          # the request log's user
        return _kept(app, entry), None
    return None, (user_id, generations, key)


def serve(view, kwargs: dict, on_hit=None, found=None):
    """The member's kept page, or the view's page drawn (and kept when it may be); None when
    this request is not one for the member store (the caller then draws as usual).  ``found``:
    what ``lookup`` read before the user was loaded (its generations are the entry's)."""
    app = current_app._get_current_object()
    store, pages = app.extensions.get("member_pages"), app.extensions.get("page_cache")
    if store is None or pages is None or "_flashes" in session:
        return None
    user_id = current_user.id
    if found is not None and found[0] == user_id:
        _, generations, key = found
    else:
        try:
            generations = pages.generations()
        except Exception:  # noqa: BLE001 - Redis away: drawn, not kept
            app.logger.warning("page cache: Redis did not answer; drawing the member's page", exc_info=True)
            return None
        key = _key(user_id)
        entry = store.get(key)
        if entry is not None and entry[0] == generations and entry[1] > time.time():
            if on_hit is not None:
                on_hit(user_id, **kwargs)
            return _kept(app, entry)
    g.drawing_member_page = True
    try:
        response = make_response(view(**kwargs))
    finally:
        g.drawing_member_page = False
    if response.is_streamed:
        return response
    body = response.get_data()
    if response.status_code == 200 and not session.modified and not response.headers.getlist("Set-Cookie") \
            and not g.get("set_visitor_cookie"):
        store.put(key, (generations, time.time() + app.config["PAGE_CACHE_SECONDS"], response.mimetype, body,
                        hashlib.sha1(body).digest()))
    if _MARK in body:
        response.set_data(body.replace(_MARK, _token()))
    return response
