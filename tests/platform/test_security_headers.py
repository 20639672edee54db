"""Every response carries the security headers; pages have no inline script or style to break them."""
import re


def test_pages_and_api_send_security_headers(client, make):
    thread = make.thread()
    for path in ("/", f"/threads/{thread.id}/{thread.slug}", "/api/v1/openapi.json", "/no-such-page"):
        headers = client.get(path, follow_redirects=True).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_templates_have_no_inline_scripts_handlers_or_styles():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "community"
    offenders = []
    # Mail (templates/mail/) is read in mail clients, which need inline styles and never see the CSP.
    pages = [p for p in (root / "templates").rglob("*.html") if "mail" not in p.relative_to(root / "templates").parts[:1]]
    for path in pages + list((root / "views").glob("*.py")):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+=\"", text) \
                or re.search(r"\sstyle=[\"']|<style", text):
            offenders.append(path.name)
    assert offenders == []
