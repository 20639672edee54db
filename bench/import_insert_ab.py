"""A/B of the import's SQLite inserts: SQLAlchemy RETURNING in order (old) against import_copy.insert_rows (new), process CPU per 1,000 post rows (python bench/import_insert_ab.py)."""
import time, tempfile, datetime
from sqlalchemy import insert
from community import create_app
from community.extensions import db
from community.models import Post, Thread, User, Category
from community.services.forum.import_copy import insert_rows
tmp = tempfile.mkdtemp(prefix="import-ab-")
app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/t.db", "SECRET_KEY": "x", "SEARCH_INDEX_DIR": f"{tmp}/idx", "TESTING": True})
with app.app_context():
    db.create_all()
    u = User(username="ann", email="a@x.invalid", password_hash="!", role="member"); c = Category(name="C", slug="c", description="", position=1)
    db.session.add_all([u, c]); db.session.flush()
    t = Thread(category_id=c.id, author_id=u.id, title="t", slug="t"); db.session.add(t); db.session.commit()
    now = datetime.datetime(2024, 1, 1)
    rows = [{"thread_id": t.id, "author_id": u.id, "is_question": n % 3 == 0, "body": "word " * 60, "score": n % 7,
             "imported_score": n % 7, "body_html": "<p>" + "word " * 60 + "</p>", "created_at": now} for n in range(1000)]
    def old():
        return [r[0] for r in db.session.execute(insert(Post.__table__).returning(Post.__table__.c.id, sort_by_parameter_order=True), rows)]
    def new():
        return insert_rows(Post.__table__, rows)
    results = {"old": [], "new": []}
    for round_ in range(8):
        for name, fn in (("old", old), ("new", new)):
            start = time.process_time(); ids = fn(); results[name].append(time.process_time() - start)
            assert len(ids) == 1000
            db.session.rollback()
    for name, values in results.items():
        values.sort()
        print(f"{name}: median {values[len(values)//2]*1000:.1f} ms CPU per 1,000 posts (min {values[0]*1000:.1f})")
