"""Moving and restoring a site: ``copy-to`` SQLite → PostgreSQL, ``backup`` / ``restore``.

The PostgreSQL tests use databases of their own on 127.0.0.1:5432 (``production_copy``,
``production_backup_*``), created and dropped here; they skip, saying why, where no
server answers.
"""
from __future__ import annotations

import shutil
import uuid

import pytest
from sqlalchemy import create_engine, select, text, update

from community import create_app
from community.demo import seed as demo_seed
from community.extensions import db as _db
from community.models import Post, ReputationEvent, Thread, User, Vote
from community.services.maintenance import backup, transfer

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def _admin():
    try:
        import psycopg

        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - no driver, no server
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc.__class__.__name__})")


@pytest.fixture()
def pg_database():
    """Makes empty PostgreSQL databases by name; drops them afterwards."""
    made = []

    def make(name: str) -> str:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return PG_BASE + name

    yield make
    if made:
        with _admin() as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def demo_site(app, db):
    """The demo content (community/demo), seeded through the services as `flask demo seed` does."""
    assert demo_seed.seed() is not None
    db.session.commit()
    return app


def _app_on(url: str, tmp_path, name: str, index=None):
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / name), "SQLALCHEMY_DATABASE_URI": url,
                       "SEARCH_INDEX_DIR": str(index or tmp_path / name / "index"), "SECRET_KEY": "test",
                       "SERVER_NAME": "localhost", "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "DEFLECTION_HOLDOUT": 0})


def _invoke(app, args):
    """Run a CLI command against ``app`` (a runner alone would use the app whose context is open)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=args)


def _api_paths(app) -> list[str]:
    with app.app_context():
        session = _db.session
        paths = ["/api/v1/categories", "/api/v1/ideas", "/api/v1/ideas?sort=new",
                 "/api/v1/suggest?q=invoice", "/api/v1/suggest?q=password%20reset", "/healthz"]
        paths += [f"/api/v1/threads/{i}" for i in session.execute(select(Thread.id).order_by(Thread.id)).scalars()]
        paths += [f"/api/v1/users/{u}" for u in session.execute(select(User.username).order_by(User.id)).scalars()]
        from community.models import Idea

        paths += [f"/api/v1/ideas/{i}" for i in session.execute(select(Idea.id).order_by(Idea.id)).scalars()]
        _db.session.remove()
    return paths


def _answers(app, paths) -> dict:
    client = app.test_client()
    answers = {}
    for path in paths:
        response = client.get(path)
        body = response.get_json()
        if path == "/healthz":  # timings and the dialect differ by nature; the verdict must not
            body = {"status": body["status"], "failed": body["failed"],
                    "documents": body["checks"]["search"]["documents"],
                    "revision": body["checks"]["migrations"]["revision"]}
        answers[path] = (response.status_code, body)
    return answers


def test_a_demo_site_copied_to_postgresql_answers_the_same_api_responses(demo_site, tmp_path, pg_database):
    url = pg_database("production_copy")
    paths = _api_paths(demo_site)
    assert len(paths) > 70
    before = _answers(demo_site, paths)
    assert before["/healthz"][0] == 200

    result = _invoke(demo_site, ["copy-to", url, "--index-dir", str(tmp_path / "pg-index")])
    assert result.exit_code == 0, result.output
    assert "row counts and checksums agree" in result.output and "schema created" in result.output
    assert f"Search index rebuilt from the target: {_documents(demo_site)} documents." in result.output

    target = _app_on(url, tmp_path, "target", index=tmp_path / "pg-index")
    after = _answers(target, paths)
    differing = [p for p in paths if before[p] != after[p]]
    assert differing == []

    # the sequences were moved past the copied ids: the next thread gets a new one
    with target.app_context():
        last = _db.session.execute(select(Thread.id).order_by(Thread.id.desc())).scalars().first()
        from community.services.forum import threads

        author = _db.session.execute(select(User).where(User.username == "alice")).scalar_one()
        new = threads.create_thread(author, threads_category(), "A new question after the move",
                                    "Written on PostgreSQL once the copy was done.", None)
        _db.session.commit()
        assert new.id == last + 1
        _db.session.remove()
        _db.engine.dispose()

    again = _invoke(demo_site, ["copy-to", url])
    assert again.exit_code == 1 and "The target is not empty" in again.output


def _documents(app) -> int:
    from community import search

    with app.app_context():
        return search.count()


def threads_category():
    from community.models import Category

    return _db.session.execute(select(Category).order_by(Category.id)).scalars().first()


def _small_site(make):
    asker, helper = make.user("asker"), make.user("helper")
    thread = make.thread(author=asker, title="Where are last year's invoices?")
    answer = make.reply(thread, author=helper, body="Billing, then History.")
    from community.services.forum import accepting, votes

    votes.set_vote(asker, answer, 1)
    accepting.accept(asker, thread, answer)
    merged = make.thread(author=helper, title="Invoices from last year, where?")
    # a row pointing at a later id of its own table, and threads ↔ posts both ways
    merged.merged_into_id = thread.id
    thread.merged_into_id = None
    _db.session.commit()
    return thread, answer


def test_copy_refuses_a_target_with_rows_or_part_of_the_schema_and_the_site_itself(app, db, make, tmp_path):
    _small_site(make)
    target = create_engine(f"sqlite:///{tmp_path / 'target.db'}")
    report = transfer.copy_site(db.engine, target)
    assert report.created_schema and {t.name: t.rows for t in report.tables}["posts"] == 3
    with pytest.raises(transfer.Conflict, match="not empty"):
        transfer.copy_site(db.engine, target)

    partial = create_engine(f"sqlite:///{tmp_path / 'partial.db'}")
    with partial.begin() as conn:
        conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY)"))
    with pytest.raises(transfer.Conflict, match="some of the site's tables"):
        transfer.copy_site(db.engine, partial)
    with pytest.raises(transfer.ValidationError, match="own database"):
        transfer.copy_site(db.engine, create_engine(str(db.engine.url)))


def test_copy_into_a_migrated_empty_database_and_forward_references(app, db, make, tmp_path):
    thread, answer = _small_site(make)
    later = make.thread(title="A later thread that an earlier one is merged into")
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(merged_into_id=later.id))
    db.session.commit()
    source = db.engine
    target = _app_on(f"sqlite:///{tmp_path / 'migrated.db'}", tmp_path, "migrated")
    with target.app_context():
        import flask_migrate

        flask_migrate.upgrade()
        engine = _db.engine
        report = transfer.copy_site(source, engine)
        assert not report.created_schema
        copied = _db.session.get(Thread, thread.id)
        assert copied.merged_into_id == later.id and copied.accepted_post_id == answer.id
        _db.session.remove()
        engine.dispose()


def test_compare_names_the_table_whose_rows_differ(app, db, make, tmp_path):
    _small_site(make)
    target = create_engine(f"sqlite:///{tmp_path / 'target.db'}")
    transfer.copy_site(db.engine, target)
    with db.engine.connect() as a, target.connect() as b:
        assert transfer.compare(a, b) == []
    with target.begin() as conn:
        conn.execute(text("UPDATE votes SET value = -1"))
        conn.execute(text("DELETE FROM notifications"))
    with db.engine.connect() as a, target.connect() as b:
        found = {(m.table, m.what) for m in transfer.compare(a, b)}
    assert found == {("votes", "checksum"), ("notifications", "rows")}


def _digests(app) -> dict:
    with app.app_context():
        with _db.engine.connect() as conn:
            result = {t.name: transfer.table_digest(conn, t) for t in transfer.tables()}
        _db.session.remove()
    return result


def test_a_backup_restored_into_a_fresh_instance_has_every_thread_vote_and_ledger_row(demo_site, tmp_path, request):
    # on SQLite by default; under TEST_DATABASE_URL=postgresql... the same through pg_dump
    on_postgresql = _db.engine.dialect.name == "postgresql"
    with demo_site.app_context():
        counts = {m.__tablename__: _db.session.execute(select(_db.func.count()).select_from(m)).scalar_one()
                  for m in (Thread, Post, Vote, ReputationEvent)}
    assert counts["threads"] == 50 and counts["votes"] > 150 and counts["reputation_events"] > 150
    before = _digests(demo_site)
    path = tmp_path / "site.backup"
    result = _invoke(demo_site, ["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert backup.backup_kind(path) == ("pg_dump" if on_postgresql else "sqlite")
    again = _invoke(demo_site, ["backup", str(path)])
    assert again.exit_code == 1 and "exists" in again.output

    fresh_url = (request.getfixturevalue("pg_database")(f"production_fresh_{uuid.uuid4().hex[:8]}")
                 if on_postgresql else f"sqlite:///{tmp_path / 'fresh' / 'site.db'}")
    fresh = _app_on(fresh_url, tmp_path, "fresh")
    result = _invoke(fresh, ["restore", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Search index rebuilt: {_documents(demo_site)} documents." in result.output
    after = _digests(fresh)
    assert {n: (d.rows, d.checksum) for n, d in after.items()} == {n: (d.rows, d.checksum) for n, d in before.items()}
    for table in counts:
        assert after[table].rows == counts[table]
    client = fresh.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/suggest?q=invoice").get_json() == demo_site.test_client().get(
        "/api/v1/suggest?q=invoice").get_json()

    refused = _invoke(fresh, ["restore", str(path)])
    assert refused.exit_code == 1 and "--replace" in refused.output
    replaced = _invoke(fresh, ["restore", "--replace", str(path)])
    assert replaced.exit_code == 0, replaced.output
    with fresh.app_context():
        _db.engine.dispose()


@pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")), reason="pg_dump is not installed")
def test_pg_dump_backup_restores_into_another_postgresql_database(app, db, make, tmp_path, pg_database):
    _small_site(make)
    suffix = uuid.uuid4().hex[:8]
    source_url, restored_url = pg_database(f"production_backup_{suffix}"), pg_database(f"production_restore_{suffix}")
    transfer.copy_site(db.engine, create_engine(source_url))
    source = _app_on(source_url, tmp_path, "pg-source")
    path = tmp_path / "site.dump"
    result = _invoke(source, ["backup", str(path)])
    assert result.exit_code == 0 and "pg_dump" in result.output, result.output
    restored = _app_on(restored_url, tmp_path, "pg-restored")
    result = _invoke(restored, ["restore", str(path)])
    assert result.exit_code == 0, result.output
    assert {n: d.checksum for n, d in _digests(restored).items()} == {n: d.checksum for n, d in _digests(source).items()}
    wrong = _app_on(f"sqlite:///{tmp_path / 'wrong.db'}", tmp_path, "wrong")
    refused = _invoke(wrong, ["restore", str(path)])
    assert refused.exit_code == 1 and "copy-to" in refused.output
    for each in (source, restored):
        with each.app_context():
            _db.engine.dispose()
