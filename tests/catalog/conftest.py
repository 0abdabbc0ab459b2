from __future__ import annotations

import pytest

from mango_core.tenancy import location_scope


@pytest.fixture
def in_a(app, world):
    """Catalogue calls as in a request of location A (PRG, partner ALFA)."""
    with app.test_request_context(), location_scope(world.loc_a.id):
        yield world.loc_a
