from mango_core.plugins import PluginMeta, hookimpl

PLUGIN = PluginMeta(title="Gamma", requires=("alpha", "beta"))


@hookimpl
def mango_settings() -> dict:
    return {"who": "gamma"}
