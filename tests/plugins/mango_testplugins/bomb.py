"""Installed but never configured: importing it is a bug of the plugin manager."""

raise RuntimeError("mango_testplugins.bomb was imported although no configuration names it")
