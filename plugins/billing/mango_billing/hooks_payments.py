"""Hooks of the billing plugin's payments area (listed in `PLUGIN.parts`)."""
