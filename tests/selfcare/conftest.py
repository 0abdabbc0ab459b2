"""Fixtures of the portal tests: a portal in location A (PRG) and one in location B (BRN, another partner)."""

from __future__ import annotations

import pytest

from mango_core.selfcare.testing import build_portal
from mango_example import plugin as example_plugin


@pytest.fixture
def portal(app, db, world):
    """The portal data of mango_core.selfcare.testing in location A (PRG)."""
    with app.test_request_context():
        return build_portal(db, world.loc_a, tag="a")


@pytest.fixture
def portal_b(app, db, world):
    """The same in location B (BRN): another partner's customers, services and account."""
    with app.test_request_context():
        return build_portal(db, world.loc_b, tag="b")


@pytest.fixture(autouse=True)
def _clear_events():
    example_plugin.SERVICE_EVENTS.clear()
    example_plugin.CUSTOMER_EVENTS.clear()
    yield
    example_plugin.SERVICE_EVENTS.clear()
    example_plugin.CUSTOMER_EVENTS.clear()
