"""The running Mango: settings, database, plugins and what they contributed.

One instance per process (created by the app factory or the CLI); views, jobs and commands
reach it through :func:`current_mango`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from flask import current_app, g, has_request_context

from mango_core.config import Settings
from mango_core.db import Database
from mango_core.db.migrations import import_models
from mango_core.permissions import Permission
from mango_core.plugins import CORE, PluginError, PluginManager

if TYPE_CHECKING:
    from mango_core.scheduler.jobs import Job
    from mango_core.web.menu import MenuItem


@dataclass
class Mango:
    settings: Settings
    db: Database
    plugins: PluginManager
    permissions: dict[str, Permission] = field(default_factory=dict)
    menu_items: list[MenuItem] = field(default_factory=list)
    jobs: dict[str, Job] = field(default_factory=dict)
    models: list[type] = field(default_factory=list)

    @classmethod
    def start(cls, settings: Settings, plugins: PluginManager | None = None) -> Mango:
        plugins = plugins or PluginManager(settings.plugins).load()
        mango = cls(settings=settings, db=Database(settings.database_url), plugins=plugins)
        plugins.enabled_for = mango.enabled_modules
        import_models(plugins)
        mango._collect()
        return mango

    def _collect(self) -> None:
        for plugin, models in self.plugins.contributions("mango_models"):
            for model in models:
                if not model.__tablename__.startswith(f"{plugin.name}_"):
                    raise PluginError(
                        f"Plugin {plugin.name!r}: table {model.__tablename__!r} must be named {plugin.name}_…"
                    )
                self.models.append(model)
        for plugin, perm in self.plugins.contributed_list("mango_permissions"):
            if perm.plugin != plugin.name:
                raise PluginError(f"Plugin {plugin.name!r}: permission {perm.code!r} must start with {plugin.name}.")
            if perm.code in self.permissions:
                raise PluginError(f"Permission {perm.code!r} is declared twice.")
            self.permissions[perm.code] = perm
        for plugin, item in self.plugins.contributed_list("mango_menu_items"):
            if item.permission and item.permission not in self.permissions:
                raise PluginError(f"Plugin {plugin.name!r}: menu item {item.endpoint} needs undeclared permission {item.permission!r}")
            item.plugin = plugin.name
            self.menu_items.append(item)
        self.menu_items.sort(key=lambda i: (i.order, i.label))
        for plugin, job in self.plugins.contributed_list("mango_jobs"):
            if not job.id.startswith(f"{plugin.name}:"):
                raise PluginError(f"Plugin {plugin.name!r}: job id {job.id!r} must start with {plugin.name}:")
            if job.id in self.jobs:
                raise PluginError(f"Job {job.id!r} is declared twice.")
            job.plugin = plugin.name
            self.jobs[job.id] = job

    def plugin_settings(self, name: str) -> dict:
        defaults = {}
        for plugin, values in self.plugins.contributions("mango_settings"):
            if plugin.name == name:
                defaults.update(values)
        return {**defaults, **self.settings.section("plugin_settings").get(name, {})}

    def enabled_modules(self, location_id: int, on: date | None = None) -> set[str]:
        """Licensed plugins enabled for a location today (licence valid and module switched on)."""
        from mango_core.tenancy.modules import enabled_modules

        with self.db.session() as session:
            return enabled_modules(session, location_id, on=on)

    def is_active(self, plugin: str, location_id: int | None) -> bool:
        if plugin == CORE:
            return True
        if has_request_context() and "active_modules" in g and g.get("location_id") == location_id:
            return plugin in g.active_modules  # computed once per request by the shell
        return plugin in self.plugins.active_names(location_id)

    def licensed_plugins(self) -> list[str]:
        return [p.name for p in self.plugins.ordered() if p.licensed]


def current_mango() -> Mango:
    return current_app.extensions["mango"]

