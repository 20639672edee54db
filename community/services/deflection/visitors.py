"""Who is asking: the visitor cookie, the address key, and requests that are not people.

The one place that reads the visitor cookie (pages and the API alike), so that a
visitor is identified the same way everywhere.  ``refusal_reason`` says why a
request must not start an ask session (a prefetch, a bot, a link previewer).
"""
from __future__ import annotations

import hashlib
import re
import secrets

from flask import current_app, g, request
from flask_login import current_user

VISITOR_ID_RE = re.compile(r"^[0-9a-f]{32}$")

#: Substrings (case-insensitive) of user agents that are crawlers, link previewers or
#: scripts, not customers.  Replace with ``DEFLECTION_BOT_PATTERNS`` in configuration.
DEFAULT_BOT_PATTERNS = (
    "bot", "crawl", "spider", "slurp", "mediapartners", "bingpreview", "facebookexternalhit",
    "embedly", "quora link preview", "pinterest", "whatsapp", "skypeuripreview", "vkshare",
    "w3c_validator", "curl/", "wget/", "python-requests", "python-urllib", "aiohttp",
    "go-http-client", "java/", "okhttp", "libwww", "httpclient", "scrapy", "phantomjs",
    "pingdom", "uptimerobot", "chrome-lighthouse", "ahrefs", "semrush", "duckduckgo-favicons",
    "archive.org_bot", "feedfetcher", "google-read-aloud", "preview", "discordapp", "telegram",
    "iframely", "outbrain", "http-client", "node-fetch", "axios/", "undici",
)
PREFETCH_VALUES = ("prefetch", "prerender", "preview")


def new_token() -> str:
    """32 hex characters (128 random bits): session ids and visitor ids."""
    return secrets.token_hex(16)


def valid_visitor_id(value: str | None) -> bool:
    return bool(value) and bool(VISITOR_ID_RE.match(value))


def is_bot(user_agent: str | None) -> bool:
    """An empty user agent or one naming a known crawler, previewer or script."""
    agent = (user_agent or "").strip().lower()
    if not agent:
        return True
    patterns = current_app.config.get("DEFLECTION_BOT_PATTERNS") or DEFAULT_BOT_PATTERNS
    return any(p.lower() in agent for p in patterns)


def is_prefetch(headers) -> bool:
    """A speculative load (``Sec-Purpose: prefetch``, ``Purpose: prefetch``, ``X-Moz``, ...):
    nobody is looking at the page yet, so it is not a visit."""
    for name in ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"):
        value = (headers.get(name) or "").lower()
        if any(word in value for word in PREFETCH_VALUES):
            return True
    return False


def refusal_reason() -> str | None:
    """``"prefetch"`` or ``"bot"`` when this request is not a person opening a page."""
    if is_prefetch(request.headers):
        return "prefetch"
    if is_bot(request.user_agent.string):
        return "bot"
    return None


def cookie_name() -> str:
    return current_app.config["DEFLECTION_VISITOR_COOKIE"]


def has_cookie() -> bool:
    """Whether the request brought a well-formed visitor cookie."""
    return valid_visitor_id(request.cookies.get(cookie_name()))


def visitor_id(*, mint: bool = True) -> str | None:
    """The visitor cookie's value; a new one (set after the response) when absent and ``mint``."""
    if g.get("visitor_id"):
        return g.visitor_id
    value = request.cookies.get(cookie_name())
    if not valid_visitor_id(value):
        if not mint:
            return None
        value = new_token()
        g.set_visitor_cookie = value
    g.visitor_id = value
    return value


def set_visitor_cookie(response):
    """after_request: persist a freshly minted visitor id for two years."""
    value = g.get("set_visitor_cookie")
    if value:
        response.set_cookie(cookie_name(), value, max_age=2 * 365 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    return response


def user_id(user=None) -> int | None:
    """The logged-in (or token) user's id, if any."""
    user = user if user is not None else g.get("api_user") or current_user
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def address_key(address: str | None = None) -> str:
    """A salted hash of the client address: enough to count per address, not to find it."""
    address = address if address is not None else (request.remote_addr or "unknown")
    salt = current_app.config.get("SECRET_KEY") or ""
    return hashlib.sha256(f"{salt}|addr|{address}".encode()).hexdigest()[:40]
