"""Alembic with one lineage per plugin.

Every plugin (the core included) keeps its revisions in its own ``migrations/`` folder and its
own version table ``alembic_version_<plugin>``; autogenerate only sees the plugin's own tables
(those named ``<plugin>_…``). ``upgrade_all`` applies core first, then plugins in ``requires``
order. A plugin's ``migrations/env.py`` is just::

    from mango_core.db.migrations import run_env
    run_env()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from mango_core.db.base import Base
from mango_core.db.set_references import SET_CHECKED
from mango_core.plugins import PluginManager

CORE_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def version_table(plugin: str) -> str:
    return f"alembic_version_{plugin}"


def lineages(plugins: PluginManager) -> list[tuple[str, Path]]:
    """(plugin name, migrations folder) in upgrade order."""
    found: dict[str, Path] = {}
    for plugin, path in plugins.contributions("mango_migrations"):
        found[plugin.name] = Path(path)
    return [(p.name, found[p.name]) for p in plugins.ordered() if p.name in found]


def owns_table(plugin: str, table_name: str) -> bool:
    return table_name.startswith(f"{plugin}_")


def alembic_config(plugin: str, folder: Path, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(folder))
    cfg.set_main_option("version_locations", str(folder / "versions"))
    cfg.attributes["mango_plugin"] = plugin
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _include_object(plugin: str, dialect: str | None = None):  # noqa: ANN202
    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name is not None and owns_table(plugin, name)
        table = getattr(obj, "table", None)
        if type_ == "foreign_key_constraint" and dialect == "postgresql" and table is not None:
            # replaced by set checks on PostgreSQL (mango_core.db.set_references): not a missing key
            checked = table.info.get(SET_CHECKED, ())
            if {c.name for c in obj.columns} <= set(checked):
                return False
        return table is None or owns_table(plugin, table.name)

    return include


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    from mango_core.db.types import Money, UTCDateTime

    if type_ == "type" and isinstance(obj, Money | UTCDateTime):
        autogen_context.imports.add("import mango_core.db.types")
        return f"mango_core.db.types.{obj!r}"
    return False


def context_options(plugin: str, dialect: str | None = None) -> dict[str, Any]:
    return {
        "target_metadata": Base.metadata,
        "version_table": version_table(plugin),
        "include_object": _include_object(plugin, dialect),
        "render_as_batch": True,
        "render_item": _render_item,
        "compare_type": True,
    }


def run_env() -> None:
    """Body of every lineage's env.py (online mode only; Mango always has a database)."""
    from alembic import context

    cfg = context.config
    plugin = cfg.attributes["mango_plugin"]
    connection = cfg.attributes["connection"]
    context.configure(connection=connection, **context_options(plugin, connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def upgrade_all(engine: Engine, plugins: PluginManager, *, progress=print) -> None:  # noqa: ANN001
    import_models(plugins)
    for plugin, folder in lineages(plugins):
        with engine.begin() as conn:
            before = current_heads(conn, plugin)
            command.upgrade(alembic_config(plugin, folder, conn), "heads")
            after = current_heads(conn, plugin)
        progress(f"{plugin}: {', '.join(sorted(before)) or 'empty'} → {', '.join(sorted(after))}")


def current_heads(conn: Connection, plugin: str) -> set[str]:
    ctx = MigrationContext.configure(conn, opts={"version_table": version_table(plugin)})
    return set(ctx.get_current_heads())


def script_heads(folder: Path, plugin: str) -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(plugin, folder)).get_heads())


def is_up_to_date(engine: Engine, plugins: PluginManager) -> bool:
    with engine.connect() as conn:
        return all(
            current_heads(conn, plugin) == set(script_heads(folder, plugin))
            for plugin, folder in lineages(plugins)
        )


def pending_diff(engine: Engine, plugin: str) -> list[Any]:
    """What autogenerate would still write for ``plugin`` (empty when models and DB agree)."""
    opts = context_options(plugin, engine.dialect.name)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={k: opts[k] for k in ("include_object", "compare_type", "render_item")},
        )
        return compare_metadata(ctx, Base.metadata)


def revision(engine: Engine, plugin: str, folder: Path, message: str) -> None:
    """Autogenerate a new revision in ``plugin``'s lineage (developers' tool)."""
    with engine.begin() as conn:
        command.revision(alembic_config(plugin, folder, conn), message=message, autogenerate=True)


def import_models(plugins: PluginManager) -> None:
    """Importing the model classes puts their tables into the shared metadata."""
    for _ in plugins.contributions("mango_models"):
        pass
