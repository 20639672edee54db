"""Configuration: defaults, then instance/config.py, then environment variables, then overrides."""
from __future__ import annotations

from community import create_app


def test_environment_values_are_parsed_and_win_over_instance_config(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("REPUTATION_DAILY_CAP = 150\nSITE_NAME = 'Acme Community'\nMAX_TAGS = 3\n")
    monkeypatch.setenv("REPUTATION_DAILY_CAP", "300")
    monkeypatch.setenv("RANKS", '[[1, "New"], [10, "Known"]]')
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["REPUTATION_DAILY_CAP"] == 300
    assert app.config["RANKS"] == [[1, "New"], [10, "Known"]]
    assert app.config["SITE_NAME"] == "Acme Community" and app.config["MAX_TAGS"] == 3
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'env.db'}"


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").read_text().strip() == first
    other = tmp_path / "other"
    assert create_app({"INSTANCE_PATH": str(other)}).config["SECRET_KEY"] != first


def test_defaults_point_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'community.db'}"
    assert app.config["SEARCH_INDEX_DIR"] == str(tmp_path / "search-index")
    assert app.config["REPUTATION_DAILY_CAP"] == 200 and app.config["PRIVILEGES"]["vote_down"] == 125


def test_wsgi_module_exposes_the_app():
    import wsgi

    assert wsgi.app.name == "community"
