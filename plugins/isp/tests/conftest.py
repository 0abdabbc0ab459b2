"""Shared fixtures of the ISP plugin's tests (defined in mango_isp.testing, shared with NetFlow)."""

from mango_isp.testing import in_loc, internet, make_service  # noqa: F401
