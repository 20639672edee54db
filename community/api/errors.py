"""The API blueprint's handler: a ServiceError rolls back and answers the JSON envelope."""
from __future__ import annotations

from ..extensions import db
from ..json_errors import error_response
from ..services.errors import ServiceError


def register_error_handlers(bp) -> None:
    @bp.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.field)
