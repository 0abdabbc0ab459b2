"""Mango iXpos: cash desk and card payment terminal."""
