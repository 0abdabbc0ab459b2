"""Helpers of the device tests: service calls in a location's scope, inside a request context."""

from __future__ import annotations

import pytest

from mango_core.tenancy import location_scope


@pytest.fixture
def in_a(app, world):
    """Service calls as in a request of location A (PRG): app context + A's scope."""
    with app.test_request_context(), location_scope(world.loc_a.id):
        yield world.loc_a


@pytest.fixture
def in_loc(app, world):
    """A context manager for service calls in any location: ``with in_loc(world.loc_b): ...``."""

    def enter(location):  # noqa: ANN001, ANN202
        return _Both(app, location.id)

    return enter


class _Both:
    def __init__(self, app, location_id):  # noqa: ANN001
        self.ctx = app.test_request_context()
        self.scope = location_scope(location_id)

    def __enter__(self):  # noqa: ANN204
        self.ctx.__enter__()
        return self.scope.__enter__()

    def __exit__(self, *exc):  # noqa: ANN002, ANN204
        self.scope.__exit__(*exc)
        return self.ctx.__exit__(*exc)
