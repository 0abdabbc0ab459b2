"""Helpers of the customer tests: an application context and a location scope for service calls."""

from __future__ import annotations

import pytest

from mango_core.tenancy import location_scope
from mango_example import plugin as example_plugin


@pytest.fixture
def in_a(app, world):
    """Service calls as in a request of location A (PRG): app context + A's scope."""
    with app.test_request_context(), location_scope(world.loc_a.id):
        yield world.loc_a


@pytest.fixture(autouse=True)
def _clear_customer_events():
    example_plugin.CUSTOMER_EVENTS.clear()
    yield
    example_plugin.CUSTOMER_EVENTS.clear()

