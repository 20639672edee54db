"""Moving a site between databases (``flask copy-to``), and proving that nothing changed on the way.

``copy_site(source, target)`` copies every table of the models, in foreign-key
order, ids included, into a target that is empty (its tables absent, or present
and without a row), in one transaction on the target:

- columns that point at a row copied later (``threads.accepted_post_id`` →
  ``posts``, and self-references such as ``threads.merged_into_id``) are inserted
  NULL and set once every table is in, so no order of ids can break a foreign key;
- ``alembic_version`` is copied, so the target is at the source's migration;
- PostgreSQL sequences are set past the largest id, so the next insert gets a new one;
- row counts and a checksum of every table (rows in primary-key order, values
  normalised: datetimes as ISO text, JSON with sorted keys) are compared between
  source and target before the commit; a difference rolls everything back.

The source is read in one transaction (one snapshot), so a site that keeps
serving while it is copied is copied as of the start.  Rebuilding the search
index of the target is the caller's job (it needs an app on the target).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Engine, MetaData, Table, func, inspect, select, text, update

from ...extensions import db
from ..errors import Conflict, ValidationError

BATCH = 1000
VERSION_TABLE = "alembic_version"


@dataclass
class TableReport:
    name: str
    rows: int
    checksum: str


@dataclass
class CopyReport:
    revision: list[str]
    tables: list[TableReport] = field(default_factory=list)
    created_schema: bool = False

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass(frozen=True)
class Mismatch:
    table: str
    what: str          # "rows" or "checksum"
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.table}: {self.what} differ (source {self.source}, target {self.target})"


def tables(metadata: MetaData | None = None) -> list[Table]:
    """Every table of the models, parents before children."""
    return list((metadata or db.metadata).sorted_tables)


def deferred_columns(metadata: MetaData | None = None) -> dict[str, list[str]]:
    """Per table, the columns whose foreign key points at its own table or one copied after it."""
    order = {table.name: i for i, table in enumerate(tables(metadata))}
    deferred: dict[str, list[str]] = {}
    for table in tables(metadata):
        for fk in table.foreign_keys:
            if order[fk.column.table.name] >= order[table.name]:
                if not fk.parent.nullable:
                    raise RuntimeError(f"{table.name}.{fk.parent.name} points forward and cannot be NULL")
                deferred.setdefault(table.name, []).append(fk.parent.name)
    return deferred


# -- checksums -------------------------------------------------------------------

def _normal(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def _ordered(table: Table):
    keys = list(table.primary_key.columns) or list(table.columns)
    return select(table).order_by(*keys)


def table_digest(conn, table: Table) -> TableReport:
    """Row count and sha256 of ``table`` as read through ``conn`` (types processed by SQLAlchemy)."""
    names = sorted(c.name for c in table.columns)
    digest = hashlib.sha256()
    rows = 0
    for row in conn.execute(_ordered(table)).mappings():
        digest.update(json.dumps([_normal(row[n]) for n in names], separators=(",", ":")).encode())
        digest.update(b"\n")
        rows += 1
    return TableReport(table.name, rows, digest.hexdigest())


def compare(source_conn, target_conn, metadata: MetaData | None = None) -> list[Mismatch]:
    """Every table whose row count or checksum differs between the two connections."""
    found = []
    for table in tables(metadata):
        a, b = table_digest(source_conn, table), table_digest(target_conn, table)
        if a.rows != b.rows:
            found.append(Mismatch(table.name, "rows", str(a.rows), str(b.rows)))
        elif a.checksum != b.checksum:
            found.append(Mismatch(table.name, "checksum", a.checksum[:12], b.checksum[:12]))
    return found


# -- the copy --------------------------------------------------------------------

def revision(conn) -> list[str]:
    """The migration revision(s) stamped in a database ([] when it has no alembic_version)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return []
    return sorted(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def _prepare_target(conn, source_revision: list[str], metadata: MetaData) -> bool:
    """Create the schema on an empty target, or accept one whose tables are all empty.

    Returns whether the schema was created.  Raises Conflict for a target with rows, with part
    of the schema, or at another migration.
    """
    existing = set(inspect(conn).get_table_names())
    ours = {t.name for t in tables(metadata)}
    present = ours & existing
    if not present:
        metadata.create_all(conn)
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
                          f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"))
        conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
        for rev in source_revision:
            conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": rev})
        return True
    if present != ours:
        raise Conflict(f"The target has some of the site's tables but not all ({len(present)} of {len(ours)}): "
                       "use an empty database.")
    nonempty = [t.name for t in tables(metadata) if t.name in present
                and conn.execute(select(func.count()).select_from(t)).scalar_one()]
    if nonempty:
        raise Conflict(f"The target is not empty ({', '.join(nonempty[:5])}"
                       f"{' …' if len(nonempty) > 5 else ''} have rows): copy-to only fills an empty database.")
    target_revision = revision(conn)
    if target_revision != source_revision:
        raise Conflict(f"The target's schema is at migration {target_revision or 'none'}, the source's at "
                       f"{source_revision or 'none'}: run `db upgrade` on both, or use an empty database.")
    return False


def _copy_table(source_conn, target_conn, table: Table, deferred: list[str]) -> list[dict]:
    """Insert every row of ``table``; returns the deferred values to set afterwards."""
    later = []
    pk = [c.name for c in table.primary_key.columns]
    batch = []
    for row in source_conn.execute(_ordered(table)).mappings():
        values = dict(row)
        if deferred and any(values.get(c) is not None for c in deferred):
            later.append({**{f"pk_{k}": values[k] for k in pk}, **{f"v_{c}": values[c] for c in deferred}})
            for c in deferred:
                values[c] = None
        batch.append(values)
        if len(batch) >= BATCH:
            target_conn.execute(table.insert(), batch)
            batch = []
    if batch:
        target_conn.execute(table.insert(), batch)
    return later


def _set_deferred(target_conn, table: Table, deferred: list[str], later: list[dict]) -> None:
    from sqlalchemy import bindparam

    pk = [c for c in table.primary_key.columns]
    stmt = (update(table).where(*[c == bindparam(f"pk_{c.name}") for c in pk])
            .values({c: bindparam(f"v_{c}") for c in deferred}))
    for start in range(0, len(later), BATCH):
        target_conn.execute(stmt, later[start:start + BATCH])


def _reset_sequences(target_conn, metadata: MetaData) -> None:
    if target_conn.dialect.name != "postgresql":
        return  # SQLite's next id is max(id) + 1 by itself
    for table in tables(metadata):
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        column = pk[0].name
        sequence = target_conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                       {"t": table.name, "c": column}).scalar()
        if sequence:
            target_conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column}") FROM "{table.name}"), 0) + 1, false)'),
                                {"s": sequence})


def _source_snapshot(conn) -> None:
    """Read every table of the source as of one moment."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def copy_site(source: Engine, target: Engine, metadata: MetaData | None = None) -> CopyReport:
    """Copy every row of ``source`` into the empty ``target``; verified, one transaction.

    Raises ``Conflict`` (target not empty, other migration) or ``ValidationError``
    (the same database twice, a source never migrated); a verification failure
    raises ``Conflict`` naming the tables and leaves the target as it was.
    """
    metadata = metadata or db.metadata
    if source.url.render_as_string(hide_password=False) == target.url.render_as_string(hide_password=False):
        raise ValidationError("The target is the site's own database.", field="database_url")
    deferred = deferred_columns(metadata)
    with source.connect() as src:
        _source_snapshot(src)
        source_revision = revision(src)
        if not source_revision:
            raise ValidationError("The source database was never migrated (no alembic_version): "
                                  "run `flask --app community db upgrade` on it first.")
        with target.begin() as dst:
            report = CopyReport(revision=source_revision)
            report.created_schema = _prepare_target(dst, source_revision, metadata)
            pending = {}
            for table in tables(metadata):
                later = _copy_table(src, dst, table, deferred.get(table.name, []))
                if later:
                    pending[table.name] = later
            for table in tables(metadata):
                if table.name in pending:
                    _set_deferred(dst, table, deferred[table.name], pending[table.name])
            _reset_sequences(dst, metadata)
            for table in tables(metadata):
                a, b = table_digest(src, table), table_digest(dst, table)
                if (a.rows, a.checksum) != (b.rows, b.checksum):
                    raise Conflict(f"Verification failed for {table.name}: source {a.rows} rows "
                                   f"{a.checksum[:12]}, target {b.rows} rows {b.checksum[:12]}; nothing was kept.")
                report.tables.append(b)
        src.rollback()
    return report


def is_empty(engine: Engine, metadata: MetaData | None = None) -> bool:
    """Whether no table of the models has a row (absent tables count as empty)."""
    metadata = metadata or db.metadata
    with engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())
        return not any(conn.execute(select(func.count()).select_from(t)).scalar_one()
                       for t in tables(metadata) if t.name in existing)
