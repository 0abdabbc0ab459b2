"""Configuration: TOML defaults, the instance file, then MANGO_* environment variables.

The layers are merged in that order; later ones win. Everything the application reads from
configuration goes through :class:`Settings`, so tests can build one explicitly.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mango_core.resources import resource_path

DEFAULT_SECRET_KEY = "dev-insecure-change-me"

ENV_KEYS = {
    "MANGO_DATABASE_URL": "database_url",
    "MANGO_SECRET_KEY": "secret_key",
    "MANGO_ENV": "env",
}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to change."""


@dataclass
class Settings:
    data: dict[str, Any]
    instance_path: Path
    sources: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.data.get(name) or {})

    @property
    def env(self) -> str:
        return self.data["env"]

    @property
    def plugins(self) -> list[str]:
        return list(self.data.get("plugins") or [])

    @property
    def database_url(self) -> str:
        url = self.data.get("database_url") or ""
        if not url:
            url = f"sqlite:///{self.instance_path / 'mango.sqlite3'}"
        return url

    @property
    def instance_config_file(self) -> Path:
        return self.instance_path / "mango.toml"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def default_instance_path() -> Path:
    return Path(os.environ.get("MANGO_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def load_settings(overrides: dict[str, Any] | None = None, instance_path: Path | None = None) -> Settings:
    instance = Path(instance_path) if instance_path else default_instance_path()
    data = _read_toml(resource_path("defaults.toml", repo_relative="config/defaults.toml"))
    sources = ["defaults"]
    instance_file = instance / "mango.toml"
    if instance_file.exists():
        data = _merge(data, _read_toml(instance_file))
        sources.append(str(instance_file))
    for env_key, key in ENV_KEYS.items():
        if os.environ.get(env_key):
            data[key] = os.environ[env_key]
            sources.append(env_key)
    if os.environ.get("MANGO_SMTP_PASSWORD"):  # a secret kept out of files (systemd credentials, a vault)
        data = _merge(data, {"mail": {"password": os.environ["MANGO_SMTP_PASSWORD"]}})
        sources.append("MANGO_SMTP_PASSWORD")
    if "MANGO_PLUGINS" in os.environ:
        data["plugins"] = [p.strip() for p in os.environ["MANGO_PLUGINS"].split(",") if p.strip()]
        sources.append("MANGO_PLUGINS")
    if overrides:
        data = _merge(data, overrides)
        sources.append("overrides")
    settings = Settings(data=data, instance_path=instance, sources=sources)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    if settings.env not in ("development", "production"):
        raise ConfigError(f"env must be 'development' or 'production', not {settings.env!r}")
    if settings.env == "production":
        key = settings.get("secret_key") or ""
        if key == DEFAULT_SECRET_KEY or len(key) < 32:
            raise ConfigError(
                "Refusing to start in production with the default or a short secret key: "
                "set MANGO_SECRET_KEY (at least 32 random characters, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
    if not isinstance(settings.get("plugins"), list):
        raise ConfigError("plugins must be a list of plugin names")
    if settings.get("default_locale") not in settings.get("locales", []):
        raise ConfigError("default_locale must be one of locales")
