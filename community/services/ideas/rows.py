"""Race-safe row inserts shared by votes, follows and links."""
from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from ...extensions import db


def insert_ignore(model, values: dict) -> bool:
    """Insert one row unless it violates a unique constraint; True if inserted.

    ``ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL (atomic, no exception,
    no savepoint); a savepoint and ``IntegrityError`` elsewhere.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        stmt = dialect_insert(model).values(**values).on_conflict_do_nothing()
        if dialect == "postgresql":
            # With (implicit) RETURNING, psycopg reports rowcount -1: ask for the row instead.
            return db.session.execute(stmt.returning(model.id)).first() is not None
        return db.session.execute(stmt).rowcount == 1
    try:
        with db.session.begin_nested():
            db.session.execute(insert(model).values(**values))
    except IntegrityError:
        return False
    return True
