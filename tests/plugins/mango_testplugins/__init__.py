"""Tiny plugin modules for the plugin manager's tests, named by hand-made entry points."""
