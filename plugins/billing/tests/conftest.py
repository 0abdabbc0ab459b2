"""Shared fixtures of the billing plugin's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# ../shared/fixtures beside the checkout (CI has it; a user's fresh clone does not).
SHARED_FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """The public sample data folder; tests that need it skip with the reason when it is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"public sample data not found at {SHARED_FIXTURES} (../shared/fixtures beside the checkout)")
    return SHARED_FIXTURES
