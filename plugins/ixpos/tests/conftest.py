"""Shared fixtures of the iXpos plugin's tests (defined in mango_ixpos.testing)."""

from mango_ixpos.testing import in_a, make_customer, register, shop, simulator  # noqa: F401
