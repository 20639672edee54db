"""The PostgreSQL search table and its text-search configurations, as the migration
``b3d9e4f1a2c7`` creates them (``IF NOT EXISTS``: tests and ``search rebuild`` may run it too).

Kept apart from the backend so that the schema is read in one place: the generated
``vector`` column is where the field weights (title A, tags and question B, accepted
answer C, other answers, category and learned evidence D) are decided.  Migration
``d8f1b3c5e7a9`` added the ``learned`` column and the stop-word-free stemming.
"""
from __future__ import annotations

TABLE = "search_documents"
#: Every lexeme of ``vector`` and how many documents hold it (typo correction, document frequencies).
TERMS = "search_terms"
TERMS_REFRESHED = "search_terms_refreshed"

COLUMNS = ("key", "type", "id", "url", "title", "question", "accepted", "answers", "tags", "category", "learned",
           "category_id", "category_name", "solved", "votes", "prior", "replies", "status", "created",
           "activity", "snippet_text", "question_text")
STORED = ("type", "id", "url", "title", "tags", "category_id", "category_name", "solved", "votes", "replies",
          "status", "created", "activity", "snippet_text", "question_text")

#: The GIN indexes.  A GIN index keeps new entries in a *pending list* that every search reads
#: whole until it is merged into the index (by VACUUM, which autovacuum may never run, or when it
#: passes ``gin_pending_list_limit``, 4 MB by default): after a 100,000-thread import the vector
#: index's list held 423 pages, read by every query (a three-word AND took 18.8 ms and 434 buffers;
#: 0.2 ms and 11 once merged).  So the limit is small (each flush is still a batch), and
#: ``postgres_terms.refresh`` (after an import, a rebuild, every ``SEARCH_PG_STATS_SECONDS``) merges them.
GIN_INDEXES = (f"{TABLE}_vector", f"{TABLE}_title_words", f"{TABLE}_title_stems")
PENDING_LIST_KB = 64
#: The documents' indexes take the limit of the session writing (migration b8d4f2a6c1e3): the
#: app's connections set ``PENDING_LIST_KB`` (``SESSION_SETTINGS``), a bulk import's writer
#: ``IMPORT_PENDING_LIST_KB`` (``postgres_bulk``): flushing its list into the index every 64 kB
#: was most of the indexes' cost of an imported document ("Import, eighth round" in
#: docs/search.md).  (``search_terms`` had a trigram index with a limit of its own until
#: migration a4f9c2e7b1d3 dropped it: typo correction reads a snapshot, ``postgres_terms``.)
IMPORT_PENDING_LIST_KB = 4096


def pending_list_setting(kb: int) -> str:
    """The statement giving this session's GIN pending lists (of indexes without a limit of their own) ``kb`` kB."""
    return f"SET gin_pending_list_limit = {kb}"


#: Rows kept narrow (migration e7b3d5f9a2c4): past ``ROW_TARGET_BYTES`` a row's long texts (question,
#: answers, snippets: read only for the few rows shown) go out of line, while the title vectors
#: every candidate set reads stay in it (``STORAGE MAIN``).  The table's heap was 176 MB at 100,000
#: threads, ~1.8 kB a row, of which a query's candidate sets and their rows read one heap page per
#: row; 58 MB after: more of it in the server's buffers, the same answers, ~6 % less CPU a
#: suggestion and search page (docs/search.md, "Thirteenth round").
ROW_TARGET_BYTES = 512
IN_ROW_COLUMNS = ("title_words", "title_stems")
NARROW_ROWS = (f"ALTER TABLE {TABLE} SET (toast_tuple_target = {ROW_TARGET_BYTES}), "
               + ", ".join(f"ALTER COLUMN {name} SET STORAGE MAIN" for name in IN_ROW_COLUMNS))

#: Run on every new connection of the app (``postgres.PostgresSearch``).
SESSION_SETTINGS = (pending_list_setting(PENDING_LIST_KB),)

#: The table, as the migration creates it (``IF NOT EXISTS``: tests and `search rebuild` may run it).
CONFIG = "community_search"
#: Unstemmed words with accents folded: what a half-typed word is a prefix of.
PREFIX_CONFIG = "community_prefix"
#: Snowball English stems without a stop-word list (see the configuration below).
STEM_DICTIONARY = "community_stem"
DDL = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{PREFIX_CONFIG}') THEN
            CREATE TEXT SEARCH CONFIGURATION {PREFIX_CONFIG} (COPY = simple);
            ALTER TEXT SEARCH CONFIGURATION {PREFIX_CONFIG}
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
        END IF;
    END $$""",
    # English stems with accents folded ("Café" finds "cafe"), as the Whoosh analyzer does, and
    # no stop words: PostgreSQL's English list (127 words: "how", "what", "who", "after", "not")
    # is not Whoosh's (33), and the words it drops decided matches ("how long before closing a
    # question" -> "How much time before closing a question?").  The query side leaves out the
    # Whoosh analyzer's stop words instead (``postgres_query.words``).
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = '{STEM_DICTIONARY}') THEN
            CREATE TEXT SEARCH DICTIONARY {STEM_DICTIONARY} (TEMPLATE = snowball, Language = english);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{CONFIG}') THEN
            CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = english);
        END IF;
        ALTER TEXT SEARCH CONFIGURATION {CONFIG}
            ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {STEM_DICTIONARY};
        ALTER TEXT SEARCH CONFIGURATION {CONFIG}
            ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH {STEM_DICTIONARY};
    END $$""",
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
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
        learned text NOT NULL DEFAULT '',
        vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('{CONFIG}'::regconfig, title), 'A')
            || setweight(to_tsvector('{CONFIG}'::regconfig, tags || ' ' || question), 'B')
            || setweight(to_tsvector('{CONFIG}'::regconfig, accepted), 'C')
            || setweight(to_tsvector('{CONFIG}'::regconfig, answers || ' ' || category || ' ' || learned), 'D')
        ) STORED,
        title_words tsvector GENERATED ALWAYS AS (to_tsvector('{PREFIX_CONFIG}'::regconfig, title)) STORED,
        title_stems tsvector GENERATED ALWAYS AS (setweight(to_tsvector('{CONFIG}'::regconfig, title), 'A')) STORED
    )""",
    NARROW_ROWS,
    f"CREATE INDEX IF NOT EXISTS {TABLE}_vector ON {TABLE} USING gin (vector)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_title_words ON {TABLE} USING gin (title_words)",
    # The two-stage ranking's title candidates (migration e2b7c4a9d1f3, ``postgres_plan``).
    f"CREATE INDEX IF NOT EXISTS {TABLE}_title_stems ON {TABLE} USING gin (title_stems)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_created ON {TABLE} (created)",
    # The search page's sorts, in their orders (migration a3e7c9d2f5b8, ``postgres_plan.STAGED_SORTS``).
    f"CREATE INDEX IF NOT EXISTS {TABLE}_newest ON {TABLE} (created DESC NULLS LAST, key)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_active ON {TABLE} (activity DESC NULLS LAST, key)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_votes ON {TABLE} (votes DESC, key)",
    # Typo correction (migration c7e2a9d4f1b8): the lexemes with their document counts.
    f"CREATE TABLE IF NOT EXISTS {TERMS} (term text PRIMARY KEY, ndoc integer NOT NULL)",
    # The rows holding each word in any class (migration f4c8e2a6b9d1): the two-stage plan's bound.
    f"ALTER TABLE {TERMS} ADD COLUMN IF NOT EXISTS nrow integer",
    # Short pending lists (migrations f4c8e2a6b9d1, b8d4f2a6c1e3): see ``GIN_INDEXES``.
    *(f"ALTER INDEX {name} RESET (gin_pending_list_limit)" for name in GIN_INDEXES),
    f"CREATE TABLE IF NOT EXISTS {TERMS_REFRESHED} (id integer PRIMARY KEY CHECK (id = 1),"
    " at timestamp with time zone NOT NULL, documents integer NOT NULL)",
)
DROP = (f"DROP TABLE IF EXISTS {TERMS_REFRESHED}", f"DROP TABLE IF EXISTS {TERMS}", f"DROP TABLE IF EXISTS {TABLE}", f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}",
        f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {PREFIX_CONFIG}",
        f"DROP TEXT SEARCH DICTIONARY IF EXISTS {STEM_DICTIONARY}")
