"""search terms: drop the trigram index no query reads (PostgreSQL search only)

Revision ID: a4f9c2e7b1d3
Revises: d7e3b1c9a5f4
Create Date: 2026-12-06 21:00:00

Typo correction looks the near words up in each process's snapshot of ``search_terms``
(``postgres_terms.corrections``, docs/search.md "Eleventh round"), so ``search_terms_trgm``
(migration ``c7e2a9d4f1b8``) was only kept up to date: every refresh of the table (after an
import, a rebuild, every ``SEARCH_PG_STATS_SECONDS``) wrote it again, 2.6-4.2 s of the
refresh at 100,000 threads (64,178 words: their insert took 0.44-0.73 s without the index,
3.0-5.0 s with it).  The ``pg_trgm`` extension stays installed (nothing else depends on it
here; dropping an extension a site may use itself is not ours to do).  Nothing on SQLite.
"""
from alembic import op


revision = 'a4f9c2e7b1d3'
down_revision = 'd7e3b1c9a5f4'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS search_terms_trgm")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX IF NOT EXISTS search_terms_trgm ON search_terms USING gin (term gin_trgm_ops)")
    op.execute("ALTER INDEX search_terms_trgm SET (gin_pending_list_limit = 64)")
