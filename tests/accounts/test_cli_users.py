"""``flask users create`` and ``flask users token``: tokens are stored hashed and work as Bearer."""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from community.models import ApiToken, User
from community.services.accounts import users


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_users_create_with_role(app, db):
    result = run(app, "users", "create", "dana", "--email", "Dana@Example.com", "--password", "s3cret-pass", "--role", "agent")
    assert result.exit_code == 0, result.output
    assert "Created dana (agent)" in result.output
    user = db.session.execute(select(User).where(User.username == "dana")).scalar_one()
    assert user.role == "agent" and user.email == "dana@example.com"
    assert user.password_hash != "s3cret-pass"
    assert users.authenticate("dana", "s3cret-pass").id == user.id
    assert users.authenticate("dana@example.com", "s3cret-pass").id == user.id
    assert users.authenticate("dana", "wrong-pass") is None


def test_users_create_errors_are_clear(app, db):
    run(app, "users", "create", "dana", "--email", "d@example.com", "--password", "s3cret-pass")
    taken = run(app, "users", "create", "Dana", "--email", "x@example.com", "--password", "s3cret-pass")
    assert taken.exit_code != 0 and "taken" in taken.output
    short = run(app, "users", "create", "erin", "--email", "e@example.com", "--password", "short")
    assert short.exit_code != 0 and "8 characters" in short.output
    role = run(app, "users", "create", "fred", "--email", "f@example.com", "--password", "s3cret-pass", "--role", "king")
    assert role.exit_code != 0
    assert db.session.execute(select(User.username)).scalars().all() == ["dana"]


def test_users_token_is_stored_hashed_and_authenticates(app, client, db, make):
    make.user("tok")
    result = run(app, "users", "token", "tok")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("cst_") and len(token) > 30
    row = db.session.execute(select(ApiToken)).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    category = make.category()
    r = client.post("/api/v1/threads", headers={"Authorization": f"Bearer {token}"}, json={
        "category_id": category.id, "title": "Token works for posting", "body": "Posting with a CLI token works."})
    assert r.status_code == 201
    assert r.get_json()["author"]["username"] == "tok"


def test_users_token_for_unknown_user_fails(app):
    result = run(app, "users", "token", "ghost")
    assert result.exit_code != 0 and "No such user" in result.output
