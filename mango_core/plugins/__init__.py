"""The plugin kernel: discovery, ordering and calling of Mango plugins (pluggy)."""

from mango_core.plugins.manager import (
    CORE,
    ENTRY_POINT_GROUP,
    NAME_RE,
    LoadedPlugin,
    PluginError,
    PluginManager,
    PluginMeta,
    hookimpl,
)

__all__ = [
    "CORE",
    "ENTRY_POINT_GROUP",
    "NAME_RE",
    "LoadedPlugin",
    "PluginError",
    "PluginManager",
    "PluginMeta",
    "hookimpl",
]
