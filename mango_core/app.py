"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from mango_core.config import Settings, load_settings
from mango_core.kernel import Mango
from mango_core.plugins import PluginError, PluginManager

WEB_DIR = Path(__file__).resolve().parent / "web"


def create_app(
    overrides: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    plugins: PluginManager | None = None,
) -> Flask:
    """Build the WSGI application: load settings and plugins, wire the web shell."""
    settings = settings or load_settings(overrides)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    mango = Mango.start(settings, plugins)

    app = Flask(
        "mango_core",
        instance_path=str(settings.instance_path),
        static_folder=str(WEB_DIR / "static"),
        template_folder=str(WEB_DIR / "templates"),
    )
    app.extensions["mango"] = mango
    sessions_cfg = settings.section("sessions")
    production = settings.env == "production"
    app.config.update(
        SECRET_KEY=settings["secret_key"],
        SESSION_COOKIE_NAME="mango_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production or bool(sessions_cfg.get("cookie_secure")),
        PERMANENT_SESSION_LIFETIME=int(float(sessions_cfg["opcare_absolute_hours"]) * 3600),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login session
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        MANGO_ENV=settings.env,
    )
    if settings.get("testing"):
        app.config["TESTING"] = True
    hops = int(settings.get("proxy_fix_hops") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from mango_core.web import shell

    shell.init_app(app, mango)
    _register_blueprints(app, mango)
    return app


def _register_blueprints(app: Flask, mango: Mango) -> None:
    owners: dict[str, str] = {}
    for plugin, bp in mango.plugins.contributed_list("mango_blueprints"):
        if not (bp.name == plugin.name or bp.name.startswith(f"{plugin.name}_")):
            raise PluginError(f"Plugin {plugin.name!r}: blueprint {bp.name!r} must be named {plugin.name} or {plugin.name}_…")
        app.register_blueprint(bp)
        owners[bp.name] = plugin.name
    app.extensions["mango_blueprint_owners"] = owners
