"""search documents: an index per search-page sort (PostgreSQL search only)

Revision ID: a3e7c9d2f5b8
Revises: f4c8e2a6b9d1
Create Date: 2026-12-02 06:50:00

The search page sorted by newest, last activity or votes takes its candidates as the first
matches in that order (``community/search/postgres_plan.by_order``).  When the words match many
documents, the plan walks these indexes in the sort's order and stops after the page's rows
instead of sorting every match; ``created DESC NULLS LAST`` is not what a backward scan of the
plain ``created`` index gives (nulls first), hence the orders written out.  Nothing on SQLite.
"""
from alembic import op


revision = 'a3e7c9d2f5b8'
down_revision = 'f4c8e2a6b9d1'
branch_labels = None
depends_on = None

INDEXES = {
    "search_documents_newest": "created DESC NULLS LAST, key",
    "search_documents_active": "activity DESC NULLS LAST, key",
    "search_documents_votes": "votes DESC, key",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON search_documents ({columns})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
