"""search documents: long texts out of the row, title vectors in it (PostgreSQL search only)

Revision ID: e7b3d5f9a2c4
Revises: b8d4f2a6c1e3
Create Date: 2026-12-03 16:00:00

A row of ``search_documents`` held its question, answers and snippets in line (~1.8 kB a row,
176 MB of heap at 100,000 threads), though a query reads them only for the few rows it shows;
its candidate sets read one heap page per row (up to 1,000 title matches a query).  With
``toast_tuple_target`` 512 the long texts of a row past 512 bytes go out of line, and the title
vectors that every title candidate and prefix rank reads stay in it (``STORAGE MAIN``): 58 MB of
heap, the same answers (docs/search.md, "Thirteenth round").

The settings apply to rows written from now on; the table is rewritten here (``VACUUM FULL``, in
its own transaction: ~25-50 s at 100,000 threads, an ACCESS EXCLUSIVE lock meanwhile, so
searches and document writes wait).  No synchronised scan: the rewrite keeps the rows' order,
which the candidate sets' "first matches" follow.  Nothing on SQLite.
"""
from alembic import op


revision = 'e7b3d5f9a2c4'
down_revision = 'b8d4f2a6c1e3'
branch_labels = None
depends_on = None


def _rewrite():
    with op.get_context().autocommit_block():
        op.execute("SET synchronize_seqscans = off")
        op.execute("VACUUM FULL search_documents")
        op.execute("RESET synchronize_seqscans")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_documents SET (toast_tuple_target = 512), "
               "ALTER COLUMN title_words SET STORAGE MAIN, ALTER COLUMN title_stems SET STORAGE MAIN")
    _rewrite()


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_documents RESET (toast_tuple_target), "
               "ALTER COLUMN title_words SET STORAGE EXTENDED, ALTER COLUMN title_stems SET STORAGE EXTENDED")
    _rewrite()
