from mango_core.plugins import PluginMeta, hookimpl

PLUGIN = PluginMeta(title="Asks for an argument the hook does not pass")


@hookimpl
def mango_template_slot(slot: str, customer: object) -> None:
    return None
