from mango_core.plugins import PluginMeta

PLUGIN = PluginMeta(title="Cycle one", requires=("cycle_two",))
