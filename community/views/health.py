"""``GET /healthz`` for load balancers: 200 when this server may take traffic, else 503."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..services.maintenance import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Database reachable, search index readable, migrations at head; JSON says which check failed."""
    result = health.check_all()
    response = jsonify({"status": "ok" if result["ok"] else "failing", "failed": result["failed"],
                        "checks": result["checks"]})
    response.status_code = 200 if result["ok"] else 503
    response.headers["Cache-Control"] = "no-store"
    return response
