"""Helpers of the document tests: customers in a location's scope, a logged-in administrator."""

from __future__ import annotations

import pytest

from mango_core.customers import service as customers
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post


@pytest.fixture
def in_a(app, world):
    """Service calls as in a request of location A (PRG): app context + A's scope."""
    with app.test_request_context(), location_scope(world.loc_a.id):
        yield world.loc_a


@pytest.fixture
def new_customer(app, db):
    """``new_customer(location, **data)``: a committed customer with an address and a contact; its id."""

    def make(location, **data):  # noqa: ANN001, ANN003, ANN202
        db.expire_all()
        with app.test_request_context(), location_scope(location.id):
            data = {"kind": "person", "first_name": "Jiří", "last_name": "Šťastný", **data}
            customer = customers.create_customer(db, **data)
            customers.add_address(db, customer, kind="permanent", street="Údolní 12", city="Český Krumlov",
                                  postal_code="38101")
            customers.add_contact(db, customer, name="Jiří Šťastný", roles=["owner"], emails=["jiri@example.cz"],
                                  phones=["+420601234567"])
            db.commit()
            return customer.id

    return make


@pytest.fixture
def admin(client, world):
    """The partner A administrator, working in Praha."""
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": str(world.loc_a.id)}).status_code == 302
    return client
