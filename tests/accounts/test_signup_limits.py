"""Sign-up limits: successes count toward the address's limit; failures are slowed down on their own."""
from __future__ import annotations


def _sign_up(client, name, password2="long-enough-pass"):
    client.post("/logout")
    return client.post("/register", data={"username": name, "email": f"{name}@example.com",
                                          "password": "long-enough-pass", "password2": password2})


def test_failed_attempts_do_not_use_up_the_sign_up_limit(app, client, make):
    app.config.update(RATELIMIT_ENABLED=True, REGISTER_RATE_LIMIT="2 per hour",
                      REGISTER_FAILURE_RATE_LIMIT="20 per 10 minutes")
    make.user("taken")
    failures = [_sign_up(client, "taken").status_code for _ in range(3)]
    failures += [_sign_up(client, f"typo{i}", password2="mistyped-pass").status_code for i in range(3)]
    assert failures == [400] * 6
    assert [_sign_up(client, n).status_code for n in ("office1", "office2", "office3")] == [302, 302, 429]


def test_a_refused_sign_up_creates_no_account(app, client, db):
    from sqlalchemy import func, select

    from community.models import User

    app.config.update(RATELIMIT_ENABLED=True, REGISTER_RATE_LIMIT="1 per hour")
    assert _sign_up(client, "first").status_code == 302
    response = _sign_up(client, "second")
    assert response.status_code == 429
    assert "Many accounts were created from your network" in response.get_data(as_text=True)
    assert db.session.execute(select(func.count(User.id)).where(User.username == "second")).scalar() == 0


def test_repeated_failures_are_slowed_down_even_for_a_correct_attempt(app, client):
    app.config.update(RATELIMIT_ENABLED=True, REGISTER_RATE_LIMIT="10 per hour",
                      REGISTER_FAILURE_RATE_LIMIT="3 per 10 minutes")
    codes = [_sign_up(client, f"guess{i}", password2="nope-nope-nope").status_code for i in range(4)]
    assert codes == [400, 400, 400, 429]
    blocked = _sign_up(client, "correct")
    assert blocked.status_code == 429
    assert "Too many failed sign-up attempts" in blocked.get_data(as_text=True)
