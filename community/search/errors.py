"""The one error search raises: the engine could not answer (not the same as "no result")."""
from __future__ import annotations


class SearchUnavailable(RuntimeError):
    """The index could not be read (files gone, reader closed, database down).

    Callers must show or report it as a failure, never as an empty result:
    deflection metrics count empty results as searches that found nothing.
    """


class SearchRebuilding(SearchUnavailable):
    """The index is being rebuilt from the database (after an upgrade changed its schema): a
    failure with a reason a visitor may read, and an end."""
