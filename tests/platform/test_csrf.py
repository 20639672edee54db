"""CSRF: with protection on (the default), a form post without a token is refused, and the
token API is exempt because it does not use cookies."""
import pytest

from community import create_app
from community.extensions import db
from community.services.accounts import users


@pytest.fixture()
def csrf_client(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.db'}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "index"), "RATELIMIT_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
    with app.app_context():
        db.create_all()
        user = users.create_user("carol", "carol@example.com", "password123")
        token = users.issue_token(user)
        db.session.commit()
        yield app.test_client(), token


@pytest.mark.parametrize("path,data", [
    ("/login", {"login": "carol", "password": "password123"}),
    ("/register", {"username": "dave", "email": "d@example.com", "password": "password123",
                   "password2": "password123"}),
    ("/ask", {"title": "Printer not found by the app", "body": "It never finds my printer at all."}),
])
def test_form_posts_without_a_token_are_refused(csrf_client, path, data):
    client, _ = csrf_client
    assert client.post(path, data=data).status_code == 400


def test_login_with_the_page_token_works(csrf_client):
    client, _ = csrf_client
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"login": "carol", "password": "password123", "csrf_token": token})
    assert response.status_code == 302


def test_token_api_needs_no_csrf_token(csrf_client):
    client, token = csrf_client
    response = client.get("/api/v1/users/carol", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["username"] == "carol"
    assert client.post("/api/v1/categories", json={"name": "X"},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 403
