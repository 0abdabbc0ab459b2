"""Shared fixtures of the NetFlow plugin's tests; the ISP plugin's (`in_loc`, `internet`,
`make_service`) are imported from mango_isp.testing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mango_isp.testing import in_loc, internet, make_service  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "netflow"


@pytest.fixture(scope="session")
def netflow_fixtures() -> Path:
    """../shared/fixtures/netflow, or a skip naming what is missing."""
    if not FIXTURES.is_dir():
        pytest.skip(f"NetFlow sample captures not found at {FIXTURES} (../shared/fixtures is absent)")
    return FIXTURES
