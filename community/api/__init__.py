"""JSON API v1: token auth, JSON in and out, described at /api/v1/openapi.json.

Each module registers its endpoints on ``spec.bp`` with ``spec.endpoint``;
importing them here is what puts them on the blueprint.
"""
from __future__ import annotations

from flask import jsonify, request

from . import forum, users  # noqa: F401  (registers endpoints)
from . import tickets  # noqa: F401  (branch tickets)
from . import moderation  # noqa: F401  (moderation endpoints)
from .errors import register_error_handlers
from .spec import bp, openapi_document


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(request.host_url))


register_error_handlers(bp)  # once, at import: blueprints are shared by every app


def init_app(app) -> None:
    from ..extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
