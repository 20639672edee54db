"""The Whoosh schema, the analyzer shared by indexing and querying, and the ranking knobs.

One document per visible thread (``key`` ``thread:<id>``) and per idea
(``idea:<id>``).  Text fields are analyzed by :data:`ANALYZER` (words,
lower case, accents folded, English stop words dropped, Porter stems), so
"syncing", "synced" and "sync" meet.  Hidden, deleted and merged content is
never in the index: removing it is how it stops being findable.
"""
from __future__ import annotations

from whoosh import columns
from whoosh.fields import BOOLEAN, COLUMN, ID, KEYWORD, STORED, TEXT, Schema

from .analysis import STOPWORDS, SupportAnalyzer

#: Bump when the schema or analyzer changes: an index built with another
#: version is rebuilt from the database on the next ``search rebuild``.
SCHEMA_VERSION = 8

ANALYZER = SupportAnalyzer()
__all__ = ["ANALYZER", "STOPWORDS", "build_schema", "prior"]

#: Query-time boosts by field: where a word appears says how much it means.
FIELD_BOOSTS = {
    "title": 3.0,
    "question": 1.2,
    "accepted": 1.0,
    "answers": 0.3,
    "tags": 1.5,
    "category": 0.5,
    #: Words visitors typed that led to the thread (search/learned.py; weight measured with
    #: bench/relevance.py --learn, docs/search.md).
    "learned": 0.3,
}
#: The fields a query's words are looked up in.
TEXT_FIELDS = tuple(FIELD_BOOSTS)
#: Extra weight when the words appear in this order (a phrase) in the title / body.
PHRASE_BOOSTS = {"title": 2.0}
#: Modest priors: a solved thread and a well-voted one rank a little higher
#: (measured with bench/relevance.py: stronger priors cost recall).
SOLVED_BOOST = 0.05
VOTE_BOOST = 0.05
#: Longest stored text per field (enough for snippets).
STORED_CHARS = 3000
#: Longest indexed text per body field: the opening of a post says what it is
#: about; the tail of very long posts adds little but indexing time.
INDEXED_CHARS = 4000


#: The search page's orders: best match first, or by a column (newest question, latest activity,
#: highest score), ties by best match.  ``None``: by relevance.
SORTS = {"relevance": None, "newest": "created_order", "active": "activity_order", "votes": "votes_order"}


def prior(solved: bool, votes: int) -> float:
    """The multiplier a document's text score gets for being solved and voted up."""
    import math

    return (1.0 + (SOLVED_BOOST if solved else 0.0)) * (1.0 + VOTE_BOOST * math.log1p(max(votes or 0, 0)))


def build_schema() -> Schema:
    return Schema(
        key=ID(stored=True, unique=True),
        type=ID(stored=True),
        id=STORED(),
        url=STORED(),
        title=TEXT(analyzer=ANALYZER, stored=True, phrase=True),
        question=TEXT(analyzer=ANALYZER, stored=False, phrase=False),
        accepted=TEXT(analyzer=ANALYZER, stored=False, phrase=False),
        answers=TEXT(analyzer=ANALYZER, stored=False, phrase=False),
        tags=KEYWORD(stored=True, lowercase=True, scorable=True, commas=False),
        category=TEXT(analyzer=ANALYZER, stored=False, phrase=False),
        #: Learned evidence: the words of confirmed deflections and of closed duplicates.
        learned=TEXT(analyzer=ANALYZER, stored=False, phrase=False),
        category_id=ID(stored=True),
        category_name=STORED(),
        solved=BOOLEAN(stored=True),
        #: Shown, never searched or sorted on: stored only (a NUMERIC field would
        #: index 8-16 trie terms per document, a third of a bulk import's postings).
        votes=STORED(),
        #: ``prior(solved, votes)`` x 1000, read per matching document by the weighting (a column, not indexed).
        prior=COLUMN(columns.NumericColumn("I", default=1000)),
        replies=STORED(),
        status=ID(stored=True),
        #: Shown; the search page's ``since``/``until`` filter reads the ``created_order`` column
        #: (schema 8: as an indexed DATETIME its numeric trie terms were 30% of a bulk import's terms).
        created=STORED(),
        activity=STORED(),
        #: The search page's other orders (``SORTS``): seconds since 1970 and the score, as columns.
        created_order=COLUMN(columns.NumericColumn("I", default=0)),
        activity_order=COLUMN(columns.NumericColumn("I", default=0)),
        votes_order=COLUMN(columns.NumericColumn("i", default=0)),
        #: The text a snippet is cut from: the accepted answer when solved, else the question.
        snippet_text=STORED(),
        #: The question's text (stored separately so search pages can highlight both).
        question_text=STORED(),
    )
