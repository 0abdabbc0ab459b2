from pathlib import Path

import pytest

from mango_core.app import create_app
from mango_core.config import ConfigError, load_settings


def test_defaults_give_sqlite_in_the_instance_folder(tmp_path):
    settings = load_settings(instance_path=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'mango.sqlite3'}"
    assert settings["default_locale"] == "cs"
    assert settings.section("sessions")["opcare_absolute_hours"] == 168
    assert settings.section("sessions")["selfcare_absolute_hours"] == 24


def test_instance_file_then_environment_win(tmp_path, monkeypatch):
    (tmp_path / "mango.toml").write_text('plugins = ["a"]\n[sessions]\nopcare_idle_hours = 8\n')
    settings = load_settings(instance_path=tmp_path)
    assert settings.plugins == ["a"]
    assert settings.section("sessions")["opcare_idle_hours"] == 8
    assert settings.section("sessions")["opcare_absolute_hours"] == 168  # merged, not replaced
    monkeypatch.setenv("MANGO_PLUGINS", "b, c")
    monkeypatch.setenv("MANGO_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = load_settings(instance_path=tmp_path)
    assert settings.plugins == ["b", "c"]
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_smtp_password_from_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    from mango_core.mail.smtp import MailSettings

    (tmp_path / "mango.toml").write_text('[mail]\nhost = "smtp.example.cz"\nusername = "isp"\npassword = "old"\n'
                                         'from_address = "fakturace@example.cz"\n')
    monkeypatch.setenv("MANGO_SMTP_PASSWORD", "from-the-vault")
    settings = load_settings(instance_path=tmp_path)
    assert settings.section("mail")["password"] == "from-the-vault"
    assert settings.section("mail")["host"] == "smtp.example.cz"  # the rest of [mail] stays
    assert "MANGO_SMTP_PASSWORD" in settings.sources
    assert "from-the-vault" not in repr(MailSettings.from_section(settings.section("mail")))


def test_instance_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MANGO_INSTANCE_PATH", str(tmp_path / "inst"))
    assert load_settings().instance_path == tmp_path / "inst"


def test_production_refuses_the_default_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MANGO_ENV", "production")
    with pytest.raises(ConfigError, match="default or a short secret key"):
        load_settings(instance_path=tmp_path)
    monkeypatch.setenv("MANGO_SECRET_KEY", "short")
    with pytest.raises(ConfigError):
        load_settings(instance_path=tmp_path)
    monkeypatch.setenv("MANGO_SECRET_KEY", "x" * 48)
    assert load_settings(instance_path=tmp_path).env == "production"


def test_production_app_sets_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("MANGO_ENV", "production")
    monkeypatch.setenv("MANGO_SECRET_KEY", "s" * 48)
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'p.sqlite3'}"}, )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_invalid_toml_is_a_clear_error(tmp_path):
    (tmp_path / "mango.toml").write_text("plugins = [\n")
    with pytest.raises(ConfigError, match=r"mango\.toml: not valid TOML"):
        load_settings(instance_path=tmp_path)


def test_bad_values_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="env must be"):
        load_settings({"env": "staging"}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="default_locale"):
        load_settings({"default_locale": "de"}, instance_path=tmp_path)


def test_packaged_defaults_match_the_repository(tmp_path):
    """The wheel ships config/defaults.toml inside the package; the checkout reads it in place."""
    from mango_core.resources import resource_path

    path = resource_path("defaults.toml", repo_relative="config/defaults.toml")
    assert path.read_text() == (Path(__file__).parents[2] / "config" / "defaults.toml").read_text()
