"""Shared fixtures of the iXpos plugin's tests."""
