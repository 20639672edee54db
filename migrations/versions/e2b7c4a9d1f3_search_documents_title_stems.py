"""search documents: the title's stems, for the two-stage ranking (PostgreSQL search only)

Revision ID: e2b7c4a9d1f3
Revises: d8f1b3c5e7a9
Create Date: 2026-12-01 22:30:00

``title_stems``: the title as the stemmed ``tsvector`` of ``community_search`` (weight A), a
generated column with a GIN index.  A query whose words match more documents than the
backend ranks exactly takes its candidates from a few bounded sets (``postgres_plan``), one
of them the documents whose *title* holds a selecting word: titles are short, so that set is
small, and this column is small enough to stay in the row (no TOAST read per document).
Adding a generated column rewrites the table (about a minute at 100,000 threads).
Nothing on SQLite.
"""
from alembic import op


revision = 'e2b7c4a9d1f3'
down_revision = 'd8f1b3c5e7a9'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS title_stems tsvector
        GENERATED ALWAYS AS (setweight(to_tsvector('community_search'::regconfig, title), 'A')) STORED""")
    op.execute("CREATE INDEX IF NOT EXISTS search_documents_title_stems ON search_documents USING gin (title_stems)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS search_documents_title_stems")
    op.execute("ALTER TABLE search_documents DROP COLUMN IF EXISTS title_stems")
