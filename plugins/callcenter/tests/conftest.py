"""Shared fixtures of the call centre plugin's tests."""

from __future__ import annotations

import pytest

from mango_core.tenancy import location_scope


class _InLocation:
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
        return _InLocation(app, location.id)

    return enter


@pytest.fixture
def customer_a(db, world, in_loc):  # noqa: ANN001, ANN201
    """A customer of PRG with an owner contact's e-mail (where replies go)."""
    from mango_core.customers import service as customers

    with in_loc(world.loc_a):
        customer = customers.create_customer(db, kind="person", first_name="Jana", last_name="Dotazová", state="active")
        customers.add_contact(db, customer, name="Jana Dotazová", roles=["owner"], emails=["jana@example.test"],
                              phones=["+420777123456"])
        db.commit()
    return customer
