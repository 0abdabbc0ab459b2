"""The ``mango`` command line (Flask CLI; plugins add groups through ``mango_cli``)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from mango_core import __version__
from mango_core.config import ConfigError
from mango_core.plugins import PluginError


def _create_app():  # noqa: ANN202
    from mango_core.app import create_app

    return create_app()


class MangoGroup(FlaskGroup):
    """Adds the commands of loaded plugins (and the core's modules) on first use."""

    _plugin_commands_added = False

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugin_commands_added:
            return
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except (ConfigError, PluginError) as exc:
            click.secho(f"Mango cannot start: {exc}", fg="red", err=True)
            sys.exit(2)
        for _plugin, _ in app.extensions["mango"].plugins.contributions("mango_cli", cli=self):
            pass
        # Only now: a hook that raised leaves the flag unset, so the error shows again next time.
        self._plugin_commands_added = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands:
            self._add_plugin_commands(ctx)
        return super().get_command(ctx, name)


@click.group(cls=MangoGroup, create_app=_create_app, add_default_commands=True, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
@click.version_option(__version__, prog_name="mango")
def main() -> None:
    """Mango — information system for ISPs and other service companies."""


@main.group()
def db() -> None:
    """Database schema (Alembic migrations of the core and every loaded plugin)."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply pending migrations: core first, then plugins in `requires` order."""
    from mango_core.db.migrations import upgrade_all

    mango = current_app.extensions["mango"]
    click.echo(f"Database: {mango.db.engine.url.render_as_string(hide_password=True)}")
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda line: click.echo(f"  {line}"))
    click.secho("Database is up to date.", fg="green")


@db.command("revision")
@click.argument("plugin")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(plugin: str, message: str) -> None:
    """Autogenerate a migration in PLUGIN's lineage (for developers; review the file)."""
    from mango_core.db.migrations import lineages, revision

    mango = current_app.extensions["mango"]
    folders = dict(lineages(mango.plugins))
    if plugin not in folders:
        raise click.BadParameter(f"no migration lineage for {plugin!r}; loaded: {', '.join(folders)}")
    revision(mango.db.engine, plugin, folders[plugin], message)


@db.command("check")
@with_appcontext
def db_check() -> None:
    """Exit non-zero when the database is behind the migrations or the models."""
    from mango_core.db.migrations import is_up_to_date, lineages, pending_diff

    mango = current_app.extensions["mango"]
    ok = is_up_to_date(mango.db.engine, mango.plugins)
    for plugin, _ in lineages(mango.plugins):
        diff = pending_diff(mango.db.engine, plugin)
        if diff:
            ok = False
            click.echo(f"{plugin}: models differ from the database: {diff}")
    if not ok:
        click.secho("Run `mango db upgrade` (or write the missing migration).", fg="red")
        sys.exit(1)
    click.secho("Database matches the migrations and the models.", fg="green")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int, threads: int) -> None:
    """Serve Opcare with waitress (for production put gunicorn behind a reverse proxy)."""
    from waitress import serve as waitress_serve

    from mango_core.db.migrations import is_up_to_date

    mango = current_app.extensions["mango"]
    if not is_up_to_date(mango.db.engine, mango.plugins):
        click.secho("The database is not up to date: run `mango db upgrade` first.", fg="red", err=True)
        sys.exit(1)
    click.echo(f"Mango {__version__} on http://{host}:{port}/  (Ctrl+C stops)")
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads, ident="Mango")
