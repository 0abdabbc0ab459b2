"""Another distribution that claims the name "alpha"."""

from mango_core.plugins import PluginMeta

PLUGIN = PluginMeta(title="Alpha from someone else")
