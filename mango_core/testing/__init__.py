"""Test helpers shipped with the core, for the core's and every plugin's tests."""
