from mango_core.plugins import PluginMeta

PLUGIN = PluginMeta(title="Cycle two", requires=("cycle_one",))
