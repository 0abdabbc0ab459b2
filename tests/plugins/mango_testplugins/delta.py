from mango_core.plugins import PluginMeta, hookimpl

PLUGIN = PluginMeta(title="Delta (no requires: placed by name among its equals)")


@hookimpl
def mango_settings() -> dict:
    return {"who": "delta"}
