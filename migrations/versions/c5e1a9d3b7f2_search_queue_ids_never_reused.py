"""search_queue: ids never reused (SQLite AUTOINCREMENT)

Revision ID: c5e1a9d3b7f2
Revises: a3e7c9d2f5b8
Create Date: 2026-12-02 16:40:00

An applier deletes the queue rows it read by id after its index commit, when another worker
may already have applied them.  SQLite without ``AUTOINCREMENT`` gives a new row the id after
the largest one left (1 in an empty table), so a row queued meanwhile could take an applied
row's id and be deleted unapplied.  The table is rebuilt with ``AUTOINCREMENT`` (its rows
kept).  PostgreSQL's sequence never reuses an id: nothing to do there.
"""
from alembic import op


revision = 'c5e1a9d3b7f2'
down_revision = 'a3e7c9d2f5b8'
branch_labels = None
depends_on = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("search_queue", recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
