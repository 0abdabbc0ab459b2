"""Hooks of the billing plugin's dunning area (listed in `PLUGIN.parts`)."""
