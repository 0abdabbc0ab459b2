from mango_core.plugins import PluginMeta, hookimpl

PLUGIN = PluginMeta(title="Misspelled hook")


@hookimpl
def mango_typo() -> list:
    return []
