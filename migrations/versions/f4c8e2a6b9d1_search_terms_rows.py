"""search terms: the rows holding each word in any class; short GIN pending lists (PostgreSQL search only)

Revision ID: f4c8e2a6b9d1
Revises: a7d3e9c1b5f2
Create Date: 2026-12-02 06:10:00

``search_terms.ndoc`` is a word's most documents in *one* weight class (the IDF's count, as
the Whoosh backend counts per field); a query selects the rows holding the word in *any*
class, so the two-stage plan (``community/search/postgres_plan.py``) summing ``ndoc`` undercounted
what a query selects ('condit': 359 by class, in 885 rows) and ranked 1,115 rows exactly.
``nrow`` is that whole-row count, filled by the next refresh of the table: the refreshed mark
is removed, so the first process that reads the table rebuilds it.

The GIN indexes get a short pending list (``gin_pending_list_limit`` 64 kB, was the server's
4 MB): every search reads the pending list whole, and after a 100,000-thread import the vector
index's held 423 pages (a three-word AND: 18.8 ms, 0.2 ms once merged).  The lists are merged
here and at each refresh of ``search_terms``.  Nothing on SQLite.
"""
from alembic import op


revision = 'f4c8e2a6b9d1'
down_revision = 'a7d3e9c1b5f2'
branch_labels = None
depends_on = None

INDEXES = ("search_documents_vector", "search_documents_title_words", "search_documents_title_stems",
           "search_terms_trgm")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_terms ADD COLUMN IF NOT EXISTS nrow integer")
    op.execute("DELETE FROM search_terms_refreshed")
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} SET (gin_pending_list_limit = 64)")
        op.execute(f"SELECT gin_clean_pending_list('{name}'::regclass)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_terms DROP COLUMN IF EXISTS nrow")
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} RESET (gin_pending_list_limit)")
