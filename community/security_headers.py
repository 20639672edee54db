"""Security headers on every response.

The Content-Security-Policy allows scripts and styles only from this site
(page scripts live in ``static/js``, never inline), images only from this site
(remote images in posts are shown as links, see ``markup.RemoteImagesAsLinks``),
so no reader's browser is sent to a third party; and no framing.  A site served over
https (``PREFERRED_URL_SCHEME = "https"``) also sends ``Strict-Transport-Security``
for ``HSTS_SECONDS`` (its cookies are Secure, see ``config.load_config``).
"""
from __future__ import annotations

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
])


def init_app(app) -> None:
    hsts = None
    if app.config.get("PREFERRED_URL_SCHEME") == "https" and int(app.config.get("HSTS_SECONDS") or 0) > 0:
        hsts = f"max-age={int(app.config['HSTS_SECONDS'])}; includeSubDomains"

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if hsts:
            headers.setdefault("Strict-Transport-Security", hsts)
        return response
