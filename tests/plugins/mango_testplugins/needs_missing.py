from mango_core.plugins import PluginMeta

PLUGIN = PluginMeta(title="Needs a plugin nobody enabled", requires=("nowhere",))
