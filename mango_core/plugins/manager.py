"""Discovery, validation and ordering of plugins.

A plugin is a module named by an entry point in the ``mango.plugins`` group; the entry point
name is the plugin name. The module holds a ``PLUGIN = PluginMeta(...)`` and module-level hook
implementations. The core's own modules are registered through the same hooks under the
plugin name ``core``.

Only plugins named in configuration are imported. Start-up fails with a clear message on a
duplicate name, a missing or unknown required plugin, a dependency cycle, or a function that
implements a hook nobody specified.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from mango_core import __version__, hookspecs

hookimpl = pluggy.HookimplMarker("mango")

CORE = "core"
ENTRY_POINT_GROUP = "mango.plugins"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}$")

# The core's modules, registered like plugins (in this order; they have no requires among
# themselves that matter, and their contributions are merged under the name "core").
CORE_MODULES = (
    "mango_core.plugin",
    "mango_core.tenancy.plugin",
    "mango_core.auth.plugin",
    "mango_core.scheduler.plugin",
    "mango_core.web.plugin",
    "mango_core.customers.plugin",
    "mango_core.history.plugin",
    "mango_core.devices.plugin",
    "mango_core.documents.plugin",
    "mango_core.mail.plugin",
    "mango_core.catalog.plugin",
    "mango_core.services.plugin",
    "mango_core.api.plugin",
    "mango_core.selfcare.plugin",
)


class PluginError(RuntimeError):
    """A plugin cannot be loaded; the message names the plugin and what to do."""


@dataclass(frozen=True)
class PluginMeta:
    """What a plugin declares about itself (module attribute ``PLUGIN``)."""

    title: str
    requires: tuple[str, ...] = ()
    # Licensed plugins are enabled per partner licence and per location; unlicensed ones
    # (the core) are active everywhere.
    licensed: bool = True
    description: str = ""
    # Further modules of the plugin that implement hooks, by dotted name: a large plugin keeps
    # each area's hooks beside its code (pluggy allows one implementation per hook and module).
    parts: tuple[str, ...] = ()


@dataclass
class LoadedPlugin:
    name: str
    meta: PluginMeta
    modules: list[ModuleType]
    version: str
    distribution: str | None = None
    order: int = 0
    hook_names: set[str] = field(default_factory=set)

    @property
    def licensed(self) -> bool:
        return self.meta.licensed


EnabledModules = Callable[[int], set[str]]


class PluginManager:
    """Loads the configured plugins and calls their hooks.

    ``enabled_for(location_id)`` answers which plugin names are enabled for a location; the
    application wires it to the licence/location tables. Events go through :meth:`emit`, which
    skips plugins not enabled for the event's location.
    """

    def __init__(self, enabled: Iterable[str], *, discover: Callable[[], Iterable[EntryPoint]] | None = None):
        self.requested = list(enabled)
        self._discover = discover or (lambda: entry_points(group=ENTRY_POINT_GROUP))
        self.pm = pluggy.PluginManager("mango")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        self._owner: dict[str, str] = {}  # pluggy registration name -> plugin name
        self.enabled_for: EnabledModules | None = None

    # --- loading ---------------------------------------------------------------------------

    def load(self) -> PluginManager:
        core = LoadedPlugin(
            name=CORE,
            meta=PluginMeta(title="Mango core", licensed=False),
            modules=[importlib.import_module(m) for m in CORE_MODULES],
            version=__version__,
            distribution="mango-core",
        )
        candidates = self._find_entry_points()
        loaded: dict[str, LoadedPlugin] = {CORE: core}
        for name in self.requested:
            if name == CORE:
                continue
            loaded[name] = self._load_one(name, candidates)
        self._check_requires(loaded)
        for order, name in enumerate(self._ordered_names(loaded)):
            plugin = loaded[name]
            plugin.order = order
            self.plugins[name] = plugin
            for module in plugin.modules:
                self._register(plugin, module)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"Plugin {self._plugin_name_of(exc.plugin)!r} implements a hook that Mango does not "
                f"specify ({exc}). Check the name against mango_core/hookspecs.py."
            ) from exc
        return self

    def _plugin_name_of(self, registered: object) -> str:
        reg_name = self.pm.get_name(registered)
        return self._owner.get(reg_name, reg_name) if reg_name else repr(registered)

    def _find_entry_points(self) -> dict[str, EntryPoint]:
        found: dict[str, EntryPoint] = {}
        for ep in self._discover():
            other = found.get(ep.name)
            if other is not None and other.value != ep.value:
                raise PluginError(
                    f"Two installed plugins are named {ep.name!r}: {other.value} and {ep.value}. "
                    "Uninstall one of them; plugin names must be unique."
                )
            found[ep.name] = ep
        return found

    def _load_one(self, name: str, candidates: dict[str, EntryPoint]) -> LoadedPlugin:
        if not NAME_RE.match(name):
            raise PluginError(f"Invalid plugin name {name!r}: use lower-case letters, digits and _.")
        ep = candidates.get(name)
        if ep is None:
            installed = ", ".join(sorted(candidates)) or "none"
            raise PluginError(
                f"Plugin {name!r} is enabled in the configuration but not installed "
                f"(installed plugins: {installed}). Install it (pip install mango-{name}) "
                "or remove it from `plugins`."
            )
        try:
            module = ep.load()
        except Exception as exc:
            raise PluginError(f"Plugin {name!r} ({ep.value}) failed to import: {exc!r}") from exc
        meta = getattr(module, "PLUGIN", None)
        if not isinstance(meta, PluginMeta):
            raise PluginError(f"Plugin {name!r} ({ep.value}) has no `PLUGIN = PluginMeta(...)`.")
        try:
            parts = [importlib.import_module(part) for part in meta.parts]
        except Exception as exc:
            raise PluginError(f"Plugin {name!r}: a module of its `parts` failed to import: {exc!r}") from exc
        dist = ep.dist
        return LoadedPlugin(
            name=name,
            meta=meta,
            modules=[module, *parts],
            version=dist.version if dist else "0",
            distribution=dist.name if dist else None,
        )

    def _check_requires(self, loaded: dict[str, LoadedPlugin]) -> None:
        for plugin in loaded.values():
            for req in plugin.meta.requires:
                if req not in loaded:
                    raise PluginError(
                        f"Plugin {plugin.name!r} requires plugin {req!r}, which is not enabled. "
                        f"Add {req!r} to `plugins` in the configuration (and install it)."
                    )

    @staticmethod
    def _ordered_names(loaded: dict[str, LoadedPlugin]) -> list[str]:
        """Topological order by ``requires``; ties broken by name, never by discovery order."""
        remaining = {name: set(p.meta.requires) | ({CORE} if name != CORE else set()) for name, p in loaded.items()}
        order: list[str] = []
        while remaining:
            ready = sorted(n for n, deps in remaining.items() if deps <= set(order))
            if not ready:
                raise PluginError(f"Plugins require each other in a cycle: {', '.join(sorted(remaining))}")
            order.append(ready[0])
            del remaining[ready[0]]
        return order

    def _register(self, plugin: LoadedPlugin, module: ModuleType) -> None:
        reg_name = plugin.name if module is plugin.modules[0] and plugin.name != CORE else f"{plugin.name}:{module.__name__}"
        for attr, value in vars(module).items():
            if attr.startswith("mango_") and inspect.isfunction(value) and value.__module__ == module.__name__:
                if not hasattr(value, "mango_impl"):
                    raise PluginError(
                        f"Plugin {plugin.name!r}: {module.__name__}.{attr} looks like a hook but is "
                        "not decorated with @hookimpl."
                    )
                plugin.hook_names.add(attr)
        try:
            self.pm.register(module, name=reg_name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"Plugin {plugin.name!r} does not fit the hook specification: {exc} "
                              "(compare with mango_core/hookspecs.py).") from exc
        self._owner[reg_name] = plugin.name

    # --- calling ---------------------------------------------------------------------------

    def ordered(self) -> list[LoadedPlugin]:
        return sorted(self.plugins.values(), key=lambda p: p.order)

    def owner_of(self, impl: pluggy.HookImpl) -> LoadedPlugin:
        return self.plugins[self._owner[impl.plugin_name]]

    def contributions(
        self, hook_name: str, *, only: set[str] | None = None, **kwargs: Any
    ) -> Iterator[tuple[LoadedPlugin, Any]]:
        """Yield ``(plugin, result)`` for each implementation, in plugin order.

        Used where the caller needs to know who contributed what (to check name prefixes, to
        tie routes, menus and jobs to a module) or needs a stable order (page slots).
        ``only`` limits the call to the named plugins (those active in a location).
        """
        caller = getattr(self.pm.hook, hook_name)
        impls = sorted(caller.get_hookimpls(), key=lambda i: self.owner_of(i).order)
        for impl in impls:
            if only is not None and self.owner_of(impl).name not in only:
                continue
            args = {k: kwargs[k] for k in impl.argnames if k in kwargs}
            result = impl.function(**args)
            if result is not None:
                yield self.owner_of(impl), result

    def contributed_list(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[LoadedPlugin, Any]]:
        """Like :meth:`contributions` for hooks returning lists: yields one item at a time."""
        for plugin, items in self.contributions(hook_name, **kwargs):
            for item in items:
                yield plugin, item

    def active_names(self, location_id: int | None) -> set[str]:
        """Names of plugins active in a location (unlicensed ones are active everywhere)."""
        always = {p.name for p in self.plugins.values() if not p.licensed}
        if location_id is None or self.enabled_for is None:
            return always
        return always | (self.enabled_for(location_id) & set(self.plugins))

    def emit(self, hook_name: str, *, location_id: int | None, **kwargs: Any) -> list[Any]:
        """Call an event hook for the plugins enabled in ``location_id`` only."""
        active = self.active_names(location_id)
        remove = [
            self.pm.get_plugin(reg)
            for reg, owner in self._owner.items()
            if owner not in active
        ]
        caller = self.pm.subset_hook_caller(hook_name, remove_plugins=remove)
        if "location_id" in (getattr(self.pm.hook, hook_name).spec.argnames or ()):
            kwargs["location_id"] = location_id
        return caller(**kwargs)
