"""pytest fixtures of the ISP plugin, shared with the plugins that build on it (NetFlow…):
service calls in a location's scope inside a request context, and a small world of an internet
class, a product and services to give addresses to. A conftest imports them by name."""

from __future__ import annotations

from datetime import date

import pytest

from mango_core.tenancy import location_scope


class _Both:
    """An application context and a location scope at once (messages stay English: no request)."""

    def __init__(self, app, location_id: int):  # noqa: ANN001
        self.ctx = app.app_context()
        self.scope = location_scope(location_id)

    def __enter__(self):  # noqa: ANN204
        self.ctx.__enter__()
        return self.scope.__enter__()

    def __exit__(self, *exc):  # noqa: ANN002, ANN204
        self.scope.__exit__(*exc)
        return self.ctx.__exit__(*exc)


@pytest.fixture
def in_loc(app):  # noqa: ANN001, ANN201
    """``with in_loc(world.loc_a): ...``: service calls as in a job of that location."""

    def enter(location):  # noqa: ANN001, ANN202
        return _Both(app, location.id)

    return enter


@pytest.fixture
def internet(app, db, world, in_loc):  # noqa: ANN001, ANN201
    """An internet class and product sold in PRG and BRN (each partner its own)."""
    from mango_core.catalog import service as catalog

    made = {}
    for location in (world.loc_a, world.loc_b):
        with in_loc(location):
            cls = catalog.create_class(db, name="Internet", kind="internet")
            product = catalog.create_product(db, class_id=cls.id, name="Internet 100", code="NET100",
                                             price="499.00", valid_from=date(2020, 1, 1),
                                             location_ids=[location.id])
            made[location.id] = product.id
    db.commit()
    return made


@pytest.fixture
def make_service(db, world, internet, in_loc):  # noqa: ANN001, ANN201
    """``make_service(location, activate=True)``: a customer with an internet service."""
    from mango_core.customers import service as customers
    from mango_core.services import service as services

    counter = {"n": 0}

    def make(location=None, *, activate: bool = True, start: date | None = None):  # noqa: ANN001, ANN202
        location = location or world.loc_a
        counter["n"] += 1
        with in_loc(location):
            customer = customers.create_customer(db, kind="person", first_name="Jan",
                                                 last_name=f"Novák {counter['n']}")
            service = services.create_service(db, customer_id=customer.id, product_id=internet[location.id],
                                              start_date=start or date(2024, 1, 1), activate=activate)
            db.commit()
        return service

    return make
