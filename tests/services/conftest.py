"""Fixtures of the service tests: a small catalogue, a customer, and service calls as in location A."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from mango_core.catalog import service as catalog
from mango_core.customers import service as customers
from mango_core.params import ParamDef
from mango_core.tenancy import location_scope
from mango_example import plugin as example_plugin


@pytest.fixture
def in_a(app, world):
    """Service calls as in a request of location A (PRG): app context + A's scope."""
    with app.test_request_context(), location_scope(world.loc_a.id):
        yield world.loc_a


@pytest.fixture(autouse=True)
def _clear_service_events():
    example_plugin.SERVICE_EVENTS.clear()
    yield
    example_plugin.SERVICE_EVENTS.clear()


def make_shop(db, location_ids) -> SimpleNamespace:  # noqa: ANN001
    """A class Internet (download required, upload, ipv4) with products NET100, NET300 sold in ``location_ids``."""
    cls = catalog.create_class(db, name="Internet", kind="other", params=[
        ParamDef("download", "Download", "integer", required=True, min=1, unit="Mbit/s"),
        ParamDef("upload", "Upload", "integer", min=1, unit="Mbit/s"),
        ParamDef("ipv4", "IPv4 address", "ipv4"),
    ])
    net100 = catalog.create_product(db, class_id=cls.id, name="Internet 100", code="NET100", price="499.00",
                                    vat_rate="21", defaults={"download": "100", "upload": "20"},
                                    second_price="1000.00", second_price_label="Setup fee",
                                    valid_from=date(2020, 1, 1), location_ids=location_ids)
    net300 = catalog.create_product(db, class_id=cls.id, name="Internet 300", code="NET300", price="699.90",
                                    vat_rate="21", defaults={"download": "300", "upload": "50"},
                                    valid_from=date(2020, 1, 1), location_ids=location_ids)
    return SimpleNamespace(cls=cls, net100=net100, net300=net300)


@pytest.fixture
def shop(db, in_a, world) -> SimpleNamespace:
    shop = make_shop(db, [world.loc_a.id])
    shop.customer = customers.create_customer(db, kind="person", first_name="Jan", last_name="Novák")
    shop.other = customers.create_customer(db, kind="person", first_name="Eva", last_name="Dvořáková")
    db.flush()
    return shop
