"""A module named by an entry point but without PLUGIN = PluginMeta(...)."""
