"""Shared fixtures of the call centre plugin's tests."""
