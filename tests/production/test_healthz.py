"""``GET /healthz``: 200 when database, search and migrations are fine; 503 naming what failed."""
from __future__ import annotations

import shutil

from sqlalchemy import text


def test_a_healthy_server_answers_200_with_every_check(client, db, make):
    make.thread()
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.get_json()
    assert data["status"] == "ok" and data["failed"] == []
    assert set(data["checks"]) == {"database", "search", "migrations", "uploads"}
    assert data["checks"]["uploads"]["backend"] == "folder"
    assert all(check["ok"] for check in data["checks"].values())
    assert data["checks"]["search"]["documents"] == 1
    assert data["checks"]["migrations"]["revision"] == data["checks"]["migrations"]["head"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_a_database_behind_the_migrations_fails_the_migrations_check_only(client, db):
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'an_old_revision'"))
    response = client.get("/healthz")
    assert response.status_code == 503
    data = response.get_json()
    assert data["status"] == "failing" and data["failed"] == ["migrations"]
    assert data["checks"]["migrations"]["revision"] == ["an_old_revision"]
    assert "db upgrade" in data["checks"]["migrations"]["problem"]
    assert data["checks"]["database"]["ok"] and data["checks"]["search"]["ok"]


def test_a_never_migrated_database_is_not_current(client, db):
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    data = client.get("/healthz").get_json()
    assert data["failed"] == ["migrations"]
    assert "never migrated" in data["checks"]["migrations"]["problem"]


def test_an_unreadable_search_index_fails_the_search_check(app, client):
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    response = client.get("/healthz")
    assert response.status_code == 503
    data = response.get_json()
    assert data["failed"] == ["search"]
    assert data["checks"]["search"]["error"]


def test_an_unreachable_database_fails_the_database_check(tmp_path):
    from community import create_app

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t",
                      "SEARCH_INDEX_DIR": str(tmp_path / "index"),
                      # a directory cannot be opened as a database file
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    data = response.get_json()
    assert "database" in data["failed"]
    assert data["checks"]["database"]["error"].startswith("OperationalError")
