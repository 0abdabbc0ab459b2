from mango_core.plugins import PluginMeta

PLUGIN = PluginMeta(title="Forgot @hookimpl")


def mango_settings() -> dict:
    return {}
