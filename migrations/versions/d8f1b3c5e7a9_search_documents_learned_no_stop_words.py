"""search documents: the learned evidence, and no stop words (PostgreSQL search only)

Revision ID: d8f1b3c5e7a9
Revises: c7e2a9d4f1b8
Create Date: 2026-12-01 19:40:00

Two changes to ``search_documents`` (``community/search/postgres_schema.py``), nothing on SQLite:

- a ``learned`` column: the words of confirmed deflections and closed duplicates that led to
  a thread (``community/search/learned.py``), in the ``vector`` at weight D, as the Whoosh
  index has its ``learned`` field (issue 16: the evidence counted on both backends);
- the text search configuration ``community_search`` stems without PostgreSQL's English stop
  words (127 words, "how", "what", "after", "not" among them, against the Whoosh analyzer's 33):
  the query side leaves out the Whoosh analyzer's stop words instead, so both backends match
  the same words (bench/relevance.py, docs/search.md).

The ``vector`` column is dropped and added again with the new expression, which recomputes it
for every row.  Existing rows have no learned text until they are written again: run
``flask --app community search rebuild`` (or ``search learn``) after upgrading.  The statements
are written out here (not imported) so that the migration stays what it was when it ran.
"""
from alembic import op


revision = 'd8f1b3c5e7a9'
down_revision = 'c7e2a9d4f1b8'
branch_labels = None
depends_on = None

VECTOR = """ALTER TABLE search_documents ADD COLUMN vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('community_search'::regconfig, title), 'A')
            || setweight(to_tsvector('community_search'::regconfig, tags || ' ' || question), 'B')
            || setweight(to_tsvector('community_search'::regconfig, accepted), 'C')
            || setweight(to_tsvector('community_search'::regconfig, answers || ' ' || category{learned}), 'D')
        ) STORED"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'community_stem') THEN
            CREATE TEXT SEARCH DICTIONARY community_stem (TEMPLATE = snowball, Language = english);
        END IF;
    END $$""")
    op.execute("""ALTER TEXT SEARCH CONFIGURATION community_search
        ALTER MAPPING FOR hword, hword_part, word WITH unaccent, community_stem""")
    op.execute("""ALTER TEXT SEARCH CONFIGURATION community_search
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH community_stem""")
    op.execute("ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS learned text NOT NULL DEFAULT ''")
    op.execute("DROP INDEX IF EXISTS search_documents_vector")
    op.execute("ALTER TABLE search_documents DROP COLUMN vector")
    op.execute(VECTOR.format(learned=" || ' ' || learned"))
    op.execute("CREATE INDEX search_documents_vector ON search_documents USING gin (vector)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS search_documents_vector")
    op.execute("ALTER TABLE search_documents DROP COLUMN vector")
    op.execute("""ALTER TEXT SEARCH CONFIGURATION community_search
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH english_stem""")
    op.execute("""ALTER TEXT SEARCH CONFIGURATION community_search
        ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem""")
    op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS community_stem")
    op.execute(VECTOR.format(learned=""))
    op.execute("ALTER TABLE search_documents DROP COLUMN learned")
    op.execute("CREATE INDEX search_documents_vector ON search_documents USING gin (vector)")
