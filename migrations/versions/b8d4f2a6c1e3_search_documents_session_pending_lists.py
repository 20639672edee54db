"""search documents' GIN indexes: the pending list limit of the session writing (PostgreSQL search only)

Revision ID: b8d4f2a6c1e3
Revises: c5e1a9d3b7f2
Create Date: 2026-12-03 10:30:00

Migration ``f4c8e2a6b9d1`` gave every GIN index a 64 kB pending list as a storage parameter,
which overrides the session's ``gin_pending_list_limit``: a bulk import flushed its list into the
indexes several times a batch, most of the indexes' cost of an imported document.  The three
indexes of ``search_documents`` now take the session's limit: the app's connections set 64 kB
(``postgres_schema.SESSION_SETTINGS``), a bulk import's writer 4 MB (``postgres_bulk``; merged at
its end).  Changing a storage parameter takes an ACCESS EXCLUSIVE lock on the index, which is
why the import does not do it itself.  ``search_terms_trgm`` keeps its 64 kB.  Nothing on SQLite.
"""
from alembic import op


revision = 'b8d4f2a6c1e3'
down_revision = 'c5e1a9d3b7f2'
branch_labels = None
depends_on = None

INDEXES = ("search_documents_vector", "search_documents_title_words", "search_documents_title_stems")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} RESET (gin_pending_list_limit)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} SET (gin_pending_list_limit = 64)")
