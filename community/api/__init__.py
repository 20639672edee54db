"""JSON API v1: token auth, JSON in and out, described at /api/v1/openapi.json.

Each module registers its endpoints on ``spec.bp`` with ``spec.endpoint``;
importing them here is what puts them on the blueprint.
"""
from __future__ import annotations

from flask import jsonify, request

from . import (  # noqa: F401  (registers endpoints)
    deflection,  # noqa: F401  (suggest, metrics/deflection)
    forum,
    idea_links,  # noqa: F401  (threads and tickets linked to ideas)
    ideas,  # noqa: F401  (idea exchange)
    kb,
    moderation,  # noqa: F401  (moderation endpoints)
    tickets,  # noqa: F401  (branch tickets)
    users,
)
from .errors import register_error_handlers
from .spec import bp, endpoint, openapi_document


@endpoint("/openapi.json", "GET", summary="This OpenAPI 3 document", auth="public",
          response={"type": "object"}, errors=())
def openapi():
    return jsonify(openapi_document(request.host_url))


# Once, at import: a blueprint cannot be changed after its first registration,
# and the app factory may run many times in one process (tests, workers).
register_error_handlers(bp)


def init_app(app) -> None:
    from ..extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
