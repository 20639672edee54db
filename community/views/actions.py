"""The one controller pattern for page writes: run the services, commit once, or roll back and say why.

A view hands its service calls to :func:`commit` and gets an :class:`Outcome`:
the value, or the ``ServiceError`` to show beside the form it came from.
:func:`commit_and_redirect` is the shape of a button (flash the outcome, go
back); :func:`commit_keeping_facts` runs the writes in a savepoint, for pages
whose own facts (an ask session, a draft) are kept when the post is refused.
A ServiceError a view does not catch reaches the app-wide handler
(``views/errors.py``): a rollback and the error page, or the JSON envelope.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import flash, redirect, request

from ..extensions import db
from ..json_errors import error_response
from ..services.errors import ServiceError
from .util import safe_next


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: ServiceError | None = None

    @property
    def status(self) -> int:
        return self.error.status if self.error else 200


def commit(action: Callable[[], Any]) -> Outcome:
    """``action()`` then one commit; on a ServiceError, a rollback and the error."""
    try:
        value = action()
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return Outcome(error=exc)
    return Outcome(value)


def commit_keeping_facts(action: Callable[[], Any]) -> Outcome:
    """``action()`` in a savepoint that a ServiceError rolls back alone; one commit either way."""
    try:
        with db.session.begin_nested():
            outcome = Outcome(action())
    except ServiceError as exc:
        outcome = Outcome(error=exc)
    db.session.commit()
    return outcome


def wants_json() -> bool:
    """The page's own scripts ask for JSON (``Accept: application/json``)."""
    return request.accept_mimetypes.best == "application/json"


def error_json(error: ServiceError):
    return error_response(error.status, error.code, error.message, error.field)


def commit_and_redirect(action: Callable[[], Any], *, success: str | Callable[[Any], str], back: str):
    """A button: commit ``action()``, flash what happened, go back to ``next`` (if local) or ``back``."""
    outcome = commit(action)
    if outcome.error:
        flash(outcome.error.message, "error")
    else:
        flash(success(outcome.value) if callable(success) else success, "success")
    return redirect(safe_next(back))
