from mango_core.plugins import PluginMeta, hookimpl

PLUGIN = PluginMeta(title="Alpha", requires=("beta",))


@hookimpl
def mango_settings() -> dict:
    return {"who": "alpha"}
