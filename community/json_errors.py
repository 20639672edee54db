"""The JSON error envelope, ``{"error": {"code", "message", "field"}}``, built in this one place.

The API answers every error with it, and so do pages when their own scripts ask
for JSON (voting buttons), so that a script never has to read an HTML page.
"""
from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large",
         415: "unsupported_media_type", 429: "rate_limited"}


def error_response(status: int, code: str, message: str, field: str | None = None):
    body = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    response = jsonify(body)
    response.status_code = status
    return response


def json_http_error(exc: HTTPException):
    """A werkzeug HTTP error (404 route, 405, 429 ...) in the envelope."""
    message = exc.description or exc.name
    return error_response(exc.code or 500, CODES.get(exc.code, "error"), message)
