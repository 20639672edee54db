"""Foreign keys hold on every database: SQLite enforces them only when each connection asks."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from community.models import Vote, utcnow


def test_a_row_pointing_at_a_missing_post_is_refused(db, make):
    voter = make.user()
    now = utcnow()
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Vote).values(post_id=999_999, user_id=voter.id, value=1,
                                               created_at=now, updated_at=now))
        db.session.flush()
    db.session.rollback()


def test_every_sqlite_connection_enforces_foreign_keys(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL always enforces them")
    connections = [db.engine.connect() for _ in range(3)]   # fresh pool connections, not only the first
    try:
        assert [c.execute(text("PRAGMA foreign_keys")).scalar() for c in connections] == [1, 1, 1]
    finally:
        for c in connections:
            c.close()
