"""Security headers on every response.

The Content-Security-Policy allows scripts and styles only from this site
(page scripts live in ``static/js``, never inline), images only from this site
(remote images in posts are shown as links, see ``markup.RemoteImagesAsLinks``),
so no reader's browser is sent to a third party; and no framing.  A site served over
https (``PREFERRED_URL_SCHEME = "https"``) also sends ``Strict-Transport-Security``
for ``HSTS_SECONDS`` (its cookies are Secure, see ``config.load_config``).  So does any
response to a request that came over https, directly or through a proxy trusted to say so
(``PROXY_FIX_X_PROTO``, which makes ``request.is_secure`` true): its cookies are marked
Secure too, unless ``SESSION_COOKIE_SECURE`` / ``REMEMBER_COOKIE_SECURE`` was set explicitly.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, request_finished


def content_security_policy(form_targets=()) -> str:
    """The policy; ``form_targets``: other origins a form may end up at.  Browsers check
    ``form-action`` on the redirects after a POST too, so the logout form, whose answer
    redirects to the identity provider's end-session page (RP-initiated logout), needs the
    provider's origin there (the issuer's: an end-session page on another origin is reached
    through a page of ours instead, ``views/sso.provider_logout``)."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        " ".join(["form-action 'self'", *form_targets]),
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ])


CSP = content_security_policy()


def origin(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, else None."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def init_app(app) -> None:
    provider = origin(app.config.get("OIDC_ISSUER"))
    csp = content_security_policy([provider] if provider else [])
    seconds = int(app.config.get("HSTS_SECONDS") or 0)
    hsts = f"max-age={seconds}; includeSubDomains" if seconds > 0 else None
    always_https = app.config.get("PREFERRED_URL_SCHEME") == "https"
    cookie_names = {app.config.get("SESSION_COOKIE_NAME", "session") if key.startswith("SESSION")
                    else app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
                    for key in app.config.get("COOKIES_SECURE_BY_REQUEST", [])}

    fixed = [("Content-Security-Policy", csp), ("X-Content-Type-Options", "nosniff"),
             ("Referrer-Policy", "strict-origin-when-cross-origin"), ("X-Frame-Options", "DENY")]

    def headers_for(is_secure: bool) -> list[tuple[str, str]]:
        return fixed + [("Strict-Transport-Security", hsts)] if hsts and (always_https or is_secure) else fixed

    # The pages kept for anonymous readers are answered before Flask (page_cache_wsgi.py), with these.
    app.extensions["security_headers"] = headers_for

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        for name, value in headers_for(request.is_secure):
            headers.setdefault(name, value)
        return response

    def secure_cookies_over_https(sender, response, **_):
        # After the session and the remember cookie are written (after_request runs before).
        if request.is_secure:
            _mark_secure(response.headers, cookie_names)

    if cookie_names:
        request_finished.connect(secure_cookies_over_https, app, weak=False)


def _mark_secure(headers, names: set[str]) -> None:
    """Add ``Secure`` to the named cookies set by this response (the config said nothing either way)."""
    cookies = headers.getlist("Set-Cookie")
    if not cookies:
        return
    marked = []
    for cookie in cookies:
        name = cookie.split("=", 1)[0].strip()
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        marked.append(cookie + "; Secure" if name in names and "secure" not in attributes else cookie)
    del headers["Set-Cookie"]
    for cookie in marked:
        headers.add("Set-Cookie", cookie)
