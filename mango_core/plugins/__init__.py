"""The plugin kernel: discovery, ordering and calling of Mango plugins (pluggy)."""

from mango_core.plugins.manager import (
    CORE,
    LoadedPlugin,
    PluginError,
    PluginManager,
    PluginMeta,
    hookimpl,
)

__all__ = ["CORE", "LoadedPlugin", "PluginError", "PluginManager", "PluginMeta", "hookimpl"]
