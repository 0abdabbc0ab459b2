"""Bulk loading: the same rules as the service, numbers without gaps, searchable at once."""

import pytest
from sqlalchemy import func, select

from mango_core.customers import search, service
from mango_core.customers.bulk import bulk_create
from mango_core.customers.demo import fake_records
from mango_core.customers.models import Customer
from mango_core.customers.service import CustomerError
from mango_core.history.models import HistoryEntry
from mango_core.tenancy import location_scope


def test_bulk_numbers_follow_the_counter_and_are_searchable(db, world):
    with location_scope(world.loc_a.id):
        first = service.create_customer(db, kind="person", first_name="Jan", last_name="Prvák")
        made = bulk_create(db, fake_records(25, seed=3), batch=10)
        after = service.create_customer(db, kind="person", first_name="Eva", last_name="Poslední")
        numbers = sorted(db.scalars(select(Customer.number)))
        assert made == 25
        assert numbers == list(range(first.number, after.number + 1))  # gapless, no duplicates
        bulked = db.scalars(select(Customer).where(Customer.number == first.number + 1)).one()
        email = bulked.contacts[0].emails[0].value
        found = search.list_customers(db, search.Filters(query=email)).items
        assert [c.id for c in found] == [bulked.id]
        assert db.scalar(select(func.count()).select_from(HistoryEntry)
                         .where(HistoryEntry.customer_id == bulked.id, HistoryEntry.action == "created")) == 1
    with location_scope(world.loc_b.id):
        assert db.scalar(select(func.count()).select_from(Customer)) == 0


def test_bad_record_is_refused_with_the_services_message(db, world):
    bad = {"customer": {"kind": "person", "first_name": "Bez", "last_name": ""}}
    with location_scope(world.loc_a.id), pytest.raises(CustomerError):
        bulk_create(db, [bad])
