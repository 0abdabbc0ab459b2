"""Hooks of the billing plugin's screens area (listed in `PLUGIN.parts`)."""
