from mango_core.plugins import PluginMeta, hookimpl

PLUGIN = PluginMeta(title="Beta")


@hookimpl
def mango_settings() -> dict:
    return {"who": "beta"}
