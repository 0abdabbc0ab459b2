"""Shared fixtures of the Mango Print plugin's tests."""

from mango_print.testing import good_pdf, in_loc, shop  # noqa: F401
