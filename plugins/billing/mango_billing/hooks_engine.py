"""Hooks of the billing plugin's engine area (listed in `PLUGIN.parts`)."""
