"""The Alembic migrations build exactly the schema the models describe.

Tests build their schema with ``create_all``; this test is what keeps the
real path (``flask db upgrade``) honest.
"""
from __future__ import annotations

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from community import create_app
from community.extensions import db


def test_upgrade_on_a_fresh_database_matches_the_models(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'migrated.db'}",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test"})
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": True})
            diffs = compare_metadata(context, db.metadata)
        tables = set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert diffs == [], "migrations and models differ; regenerate the migration:\n" + "\n".join(map(str, diffs))
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_downgrade_to_base_removes_everything(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'down.db'}",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test"})
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        left = set(db.inspect(db.engine).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert left == set()
