"""Shared fixtures of the Mango Print plugin's tests."""
