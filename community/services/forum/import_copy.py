"""Bulk inserts of the import: ``COPY`` on PostgreSQL, multi-row ``INSERT ... RETURNING`` elsewhere.

On PostgreSQL the importing process spent a fifth of its time in psycopg turning SQLAlchemy's
multi-row INSERT statements (one placeholder per value, ~10,000 a batch) into PostgreSQL's
syntax, a regular expression over the whole statement for every batch.  ``COPY`` sends the rows
as data: the ids are taken from the table's sequence first (``nextval`` once per row, in one
statement), so that the caller gets them in the order of its rows as ``RETURNING`` gave them.
Columns a row leaves out get their SQLAlchemy default, as an ``INSERT`` would.
"""
from __future__ import annotations

from sqlalchemy import Table, insert, text

from ...extensions import db


def insert_rows(table: Table, rows: list[dict], *, returning_ids: bool = True) -> list[int]:
    """Insert ``rows`` into ``table`` in the session's transaction; their new ids in order
    (``[]`` with ``returning_ids=False``, for tables without an ``id``)."""
    if not rows:
        return []
    if db.session.get_bind().dialect.name != "postgresql":
        if not returning_ids:
            db.session.execute(insert(table), rows)
            return []
        return [row[0] for row in db.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)]
    connection = db.session.connection()
    ids: list[int] = []
    if returning_ids:
        ids = list(connection.execute(text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": len(rows)}).scalars())
    columns = [c for c in table.columns if (c.name == "id" and returning_ids)
               or (c.name != "id" and (c.name in rows[0] or c.default is not None))]
    defaults = {c.name: _default(c) for c in columns}
    names = ", ".join(f'"{c.name}"' for c in columns)
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for n, row in enumerate(rows):
                copy.write_row([ids[n] if c.name == "id" else row[c.name] if c.name in row else defaults[c.name]()
                                for c in columns])
    finally:
        cursor.close()
    return ids


def _default(column):
    """A callable giving ``column``'s value for a row that leaves it out (its SQLAlchemy default)."""
    default = column.default
    if default is None:
        return lambda: None
    if default.is_callable:
        return lambda: default.arg(None)
    if default.is_scalar:
        return lambda: default.arg
    raise ValueError(f"{column}: a default COPY cannot compute")
