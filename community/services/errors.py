"""Errors raised by services; views turn them into messages, the API into JSON."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ValidationError(ServiceError):
    status = 400
    code = "validation_error"


class NotAuthenticated(ServiceError):
    status = 401
    code = "unauthorized"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"


class Unavailable(ServiceError):
    """A backing service (the search engine) failed: retry later; not an empty answer."""

    status = 503
    code = "unavailable"
