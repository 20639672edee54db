"""search documents for the PostgreSQL search backend (nothing on SQLite)

Revision ID: b3d9e4f1a2c7
Revises: 111df290acbd
Create Date: 2026-12-01 13:55:00

``SEARCH_BACKEND=postgres`` keeps one row per searchable thread, article and
idea in ``search_documents``, with a generated, weighted ``tsvector`` column
and a GIN index (``community/search/postgres.py``).  SQLite sites search with
Whoosh, so this migration does nothing there.  The statements are written out
here (not imported) so that the migration stays what it was when it ran.
"""
from alembic import op


revision = 'b3d9e4f1a2c7'
down_revision = '111df290acbd'
branch_labels = None
depends_on = None

STATEMENTS = (
    """CREATE EXTENSION IF NOT EXISTS unaccent""",
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'community_prefix') THEN
            CREATE TEXT SEARCH CONFIGURATION community_prefix (COPY = simple);
            ALTER TEXT SEARCH CONFIGURATION community_prefix
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
        END IF;
    END $$""",
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'community_search') THEN
            CREATE TEXT SEARCH CONFIGURATION community_search (COPY = english);
            ALTER TEXT SEARCH CONFIGURATION community_search
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
        END IF;
    END $$""",
    """CREATE TABLE IF NOT EXISTS search_documents (
        key varchar(40) PRIMARY KEY,
        type varchar(16) NOT NULL,
        id integer NOT NULL,
        url text NOT NULL,
        title text NOT NULL,
        question text NOT NULL DEFAULT '',
        accepted text NOT NULL DEFAULT '',
        answers text NOT NULL DEFAULT '',
        tags text NOT NULL DEFAULT '',
        category text NOT NULL DEFAULT '',
        category_id integer,
        category_name text NOT NULL DEFAULT '',
        solved boolean NOT NULL DEFAULT false,
        votes integer NOT NULL DEFAULT 0,
        prior real NOT NULL DEFAULT 1,
        replies integer NOT NULL DEFAULT 0,
        status varchar(20) NOT NULL DEFAULT '',
        created timestamp without time zone,
        activity timestamp without time zone,
        snippet_text text NOT NULL DEFAULT '',
        question_text text NOT NULL DEFAULT '',
        vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('community_search'::regconfig, title), 'A')
            || setweight(to_tsvector('community_search'::regconfig, tags || ' ' || question), 'B')
            || setweight(to_tsvector('community_search'::regconfig, accepted), 'C')
            || setweight(to_tsvector('community_search'::regconfig, answers || ' ' || category), 'D')
        ) STORED,
        title_words tsvector GENERATED ALWAYS AS (to_tsvector('community_prefix'::regconfig, title)) STORED
    )""",
    """CREATE INDEX IF NOT EXISTS search_documents_vector ON search_documents USING gin (vector)""",
    """CREATE INDEX IF NOT EXISTS search_documents_title_words ON search_documents USING gin (title_words)""",
    """CREATE INDEX IF NOT EXISTS search_documents_created ON search_documents (created)""",
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS search_documents")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS community_search")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS community_prefix")
