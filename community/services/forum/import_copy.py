"""Bulk inserts of the import: ``COPY`` on PostgreSQL, the driver's executemany on SQLite.

On PostgreSQL the importing process spent a fifth of its time in psycopg turning SQLAlchemy's
multi-row INSERT statements (one placeholder per value, ~10,000 a batch) into PostgreSQL's
syntax, a regular expression over the whole statement for every batch.  ``COPY`` sends the rows
as data: the ids are taken from the table's sequence first (``nextval`` once per row, in one
statement), so that the caller gets them in the order of its rows as ``RETURNING`` gave them.
Columns a row leaves out get their SQLAlchemy default, as an ``INSERT`` would.  On SQLite,
SQLAlchemy's ``INSERT ... RETURNING`` in order (batches of multi-row statements, compiled and
bound in Python) took two thirds of the inserts' time: see :func:`_insert_sqlite`.
"""
from __future__ import annotations

from sqlalchemy import Table, insert, text

from ...extensions import db


def insert_rows(table: Table, rows: list[dict], *, returning_ids: bool = True) -> list[int]:
    """Insert ``rows`` into ``table`` in the session's transaction; their new ids in order
    (``[]`` with ``returning_ids=False``, for tables without an ``id``)."""
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        return _insert_sqlite(table, rows, returning_ids)
    if dialect != "postgresql":
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


def _insert_sqlite(table: Table, rows: list[dict], returning_ids: bool) -> list[int]:
    """``rows`` by the driver's executemany (``exec_driver_sql``: the engine's listeners still see
    the statement), values bound by the columns' own processors.  The ids: the first row is
    inserted alone and gives its id; it holds SQLite's write lock until the commit, so the next
    ids are free and the rest are written with ``first + 1, first + 2, ...``: in the rows' order,
    as ``RETURNING`` gave them (SQLAlchemy's RETURNING batches cost more than the inserts)."""
    connection = db.session.connection()
    dialect = connection.dialect
    columns = [c for c in table.columns if c.name != "id" and (c.name in rows[0] or c.default is not None)]
    makers = [(c.name, _default(c), c.type._cached_bind_processor(dialect)) for c in columns]

    def values(row: dict) -> tuple:
        out = []
        for name, default, process in makers:
            value = row[name] if name in row else default()
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out)

    names = ", ".join(f'"{c.name}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    if not returning_ids:
        connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                                   [values(row) for row in rows])
        return []
    first = connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                                       values(rows[0])).lastrowid
    if len(rows) > 1:
        connection.exec_driver_sql(f'INSERT INTO "{table.name}" ("id", {names}) VALUES (?, {marks})',
                                   [(first + n, *values(row)) for n, row in enumerate(rows[1:], start=1)])
    return list(range(first, first + len(rows)))


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
