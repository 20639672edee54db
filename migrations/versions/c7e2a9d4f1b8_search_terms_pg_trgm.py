"""search terms with trigram index for typo correction (PostgreSQL search backend; nothing on SQLite)

Revision ID: c7e2a9d4f1b8
Revises: a7c3e9f2b4d6
Create Date: 2026-12-01 19:45:00

``search_terms`` holds every lexeme of ``search_documents.vector`` with the
number of documents holding it (``ts_stat``), refreshed by ``flask search
rebuild``, at the end of ``flask import`` and at most every
``SEARCH_PG_STATS_SECONDS`` by the first app process that finds it stale
(``community/search/postgres_terms.py``).  A ``pg_trgm`` GIN index finds the
known words near an unknown one.  The statements are written out here (not
imported) so that the migration stays what it was when it ran.
"""
from alembic import op


revision = 'c7e2a9d4f1b8'
down_revision = 'a7c3e9f2b4d6'
branch_labels = None
depends_on = None

STATEMENTS = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE IF NOT EXISTS search_terms (term text PRIMARY KEY, ndoc integer NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_terms_trgm ON search_terms USING gin (term gin_trgm_ops)",
    "CREATE TABLE IF NOT EXISTS search_terms_refreshed (id integer PRIMARY KEY CHECK (id = 1),"
    " at timestamp with time zone NOT NULL, documents integer NOT NULL)",
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS search_terms_refreshed")
    op.execute("DROP TABLE IF EXISTS search_terms")
