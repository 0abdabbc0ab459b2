"""``session.get`` answers from the session's identity map without SQL; the guard still applies.

A job that loads a row in one location and then works in another with the same session must not
get the first location's row back.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import NoResultFound

from mango_core.catalog.models import ServiceClass
from mango_core.customers.models import Customer
from mango_core.tenancy import TenancyError, location_scope, operator_scope, use_scope
from mango_core.testing.factories import make_row


def test_a_row_loaded_in_one_location_is_not_handed_out_in_another(db, world):
    with location_scope(world.loc_a.id):
        customer = make_row(db, Customer)
        db.flush()
        assert db.get(Customer, customer.id) is customer  # from the identity map
    with location_scope(world.loc_b.id):
        assert db.get(Customer, customer.id) is None
        with pytest.raises(NoResultFound):
            db.get_one(Customer, customer.id)
    with location_scope(world.loc_b.id, also_read=[world.loc_a.id]):
        assert db.get(Customer, customer.id) is customer  # a scope that reads A sees it
    with operator_scope():
        assert db.get(Customer, customer.id) is customer
    with use_scope(None), pytest.raises(TenancyError):
        db.get(Customer, customer.id)


def test_a_partner_row_is_handed_out_only_to_the_partners_locations(db, world):
    with location_scope(world.loc_a.id):
        cls = make_row(db, ServiceClass)
        db.flush()
    with location_scope(world.loc_b.id):  # BRN belongs to another partner
        assert db.get(ServiceClass, cls.id) is None
    with location_scope(world.loc_a2.id):  # another location of the same partner
        assert db.get(ServiceClass, cls.id) is cls
