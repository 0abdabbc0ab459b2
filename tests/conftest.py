"""Core and cross-plugin tests; the session settings are in the repository's conftest.py."""
