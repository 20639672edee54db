"""PostgreSQL typo correction: the snapshot's (``postgres_terms.corrections``) against the trigram
join it replaced (``pg_trgm``, similarity 0.2, then ``one_edit``), over stems one and two edits from
the table of words' own words; prints the stems whose corrections differ and the time a stem.

    SQLALCHEMY_DATABASE_URI=postgresql+psycopg://postgres@127.0.0.1/search_scale_100000 python bench/pg_typo_check.py
"""
import random, sys, time, os
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import psycopg
from community.search import postgres_terms, query
conn = psycopg.connect(os.environ["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg", "postgresql"))
conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # the old join needs it; the app no longer does
known = dict(conn.execute("SELECT term, ndoc FROM search_terms").fetchall())
letters = postgres_terms.letters(known)
rng = random.Random(3)
words = [t for t in known if len(t) >= 4 and t.isalpha() and t.isascii()]
stems = set()
for w in rng.sample(words, 3000):
    v = sorted(query.one_edit_strings(w, "abcdefghijklmnopqrstuvwxyz"))
    for s in rng.sample(v, 2):
        if postgres_terms.correctable(s, known): stems.add(s)
stems = sorted(stems)
def sql(stems):
    conn.execute("SELECT set_config('pg_trgm.similarity_threshold', '0.2', false)")
    rows = conn.execute("SELECT q.stem, t.term, t.ndoc FROM unnest(%s::text[]) AS q(stem) JOIN search_terms t ON t.term %% q.stem AND left(t.term, 1) = left(q.stem, 1) AND abs(length(t.term) - length(q.stem)) <= 1", (stems,)).fetchall()
    found = {}
    for stem, term, ndoc in rows:
        if postgres_terms.one_edit(stem, term): found.setdefault(stem, []).append((-ndoc, term))
    return {s: min(c)[1] for s, c in found.items()}
t = time.perf_counter(); a = sql(stems); ta = time.perf_counter() - t
t = time.perf_counter(); b = postgres_terms.corrections(stems, known, letters); tb = time.perf_counter() - t
print(len(stems), "stems;", len(a), "corrected by SQL,", len(b), "by snapshot; differ:", {s: (a.get(s), b.get(s)) for s in set(a) | set(b) if a.get(s) != b.get(s)})
print(f"SQL {ta*1000/len(stems):.3f} ms a stem, snapshot {tb*1000/len(stems):.3f} ms a stem; letters {len(letters)}")
two = set()
for w in rng.sample(words, 2000):
    v = rng.choice(sorted(query.one_edit_strings(w, "abcdefghijklmnopqrstuvwxyz")))
    v2 = rng.choice(sorted(query.one_edit_strings(v, "abcdefghijklmnopqrstuvwxyz")))
    if postgres_terms.correctable(v2, known): two.add(v2)
two = sorted(two)
a, b = sql(two), postgres_terms.corrections(two, known, letters)
print(len(two), "two-edit stems;", len(a), len(b), "differ:", {s: (a.get(s), b.get(s)) for s in set(a) | set(b) if a.get(s) != b.get(s)})
