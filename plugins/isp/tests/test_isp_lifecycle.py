"""The service lifecycle moves addresses: termination closes them at the end date, a transfer hands
them to the new customer's service, activation of an internet service takes them from auto pools."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.customers import service as customers
from mango_core.services import lifecycle
from mango_core.services import service as services
from mango_isp.ipam import assignments as asg
from mango_isp.ipam import prefixes as px
from mango_isp.ipam.lookup import who_had
from mango_isp.ipam.models import Assignment, MacBinding
from mango_isp.ipam.prefixes import IpamError

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_termination_closes_addresses_at_the_start_of_the_end_date(db, world, in_loc, make_service):
    service = make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="192.0.2.0/24", kind="public")
        address = asg.assign(db, service, "192.0.2.10", valid_from=T0)
        binding = asg.bind_mac(db, service, "02:00:00:00:00:01", valid_from=T0)
        lifecycle.terminate(db, service, effective=date(2025, 3, 1), reason="Výpověď")
        db.commit()
        db.refresh(address)
        db.refresh(binding)
        # the first day without the service starts at midnight in Prague (UTC+1 in winter)
        assert address.valid_to == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
        assert binding.valid_to == address.valid_to
        assert [h.service_id for h in who_had(db, "192.0.2.10", datetime(2025, 2, 28, 22, 59, tzinfo=UTC))] == [
            service.id]
        assert who_had(db, "192.0.2.10", datetime(2025, 2, 28, 23, 0, tzinfo=UTC)) == []
        with pytest.raises(IpamError, match="terminated"):
            asg.assign(db, service, "192.0.2.11")
        # history from before the end may still be recorded (taken over from an older system)
        old = asg.assign(db, service, "192.0.2.12", valid_from=T0 - timedelta(days=30), valid_to=T0)
        assert old.valid_to == T0


def test_a_scheduled_termination_closes_addresses_when_it_is_applied(db, world, in_loc, make_service):
    service = make_service()
    later = date.today() + timedelta(days=30)
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="192.0.2.0/24", kind="public")
        address = asg.assign(db, service, "192.0.2.20", valid_from=T0)
        lifecycle.terminate(db, service, effective=later, reason="Stěhování")
        db.refresh(address)
        assert address.valid_to is None  # nothing happens before the day
        lifecycle.apply_due(db, on=later)
        db.refresh(address)
        assert address.valid_to == asg.local_midnight(db, world.loc_a.id, later)


def test_a_transfer_hands_the_addresses_to_the_new_customers_service(db, world, in_loc, make_service):
    service = make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="192.0.2.0/24", kind="public")
        px.create_prefix(db, prefix="2001:db8::/32", kind="public")
        asg.assign(db, service, "192.0.2.30", valid_from=T0)
        asg.assign(db, service, "2001:db8:1::/56", valid_from=T0)
        asg.bind_mac(db, service, "02:00:00:00:00:02", valid_from=T0)
        heir = customers.create_customer(db, kind="person", first_name="Eva", last_name="Nová")
        lifecycle.transfer(db, service, heir.id, effective=date(2025, 7, 1), reason="Převod na manželku")
        db.commit()
        new = lifecycle.transferred_to(db, service)
        switch = datetime(2025, 6, 30, 22, 0, tzinfo=UTC)  # midnight in Prague (summer time)
        assert [h.customer_id for h in who_had(db, "192.0.2.30", switch - timedelta(seconds=1))] == [
            service.customer_id]
        assert [h.customer_id for h in who_had(db, "192.0.2.30", switch)] == [heir.id]
        assert [h.service_id for h in who_had(db, "2001:db8:1::1", switch)] == [new.id]
        moved = asg.assignments_of(db, new.id, with_history=False)
        assert sorted(a.text for a in moved) == ["192.0.2.30", "2001:db8:1::/56"]
        assert {a.origin for a in moved} == {"transfer"}
        assert asg.assignments_of(db, service.id, with_history=False) == []
        assert [b.mac for b in asg.bindings_of(db, new.id)] == ["02:00:00:00:00:02"]


@pytest.fixture
def auto_pools(db, world, in_loc):  # noqa: ANN001, ANN201
    with in_loc(world.loc_a):
        v4 = px.create_prefix(db, prefix="100.64.0.0/30", kind="cgnat", is_pool=True, unit_prefixlen=32,
                              auto_assign=True)
        v6 = px.create_prefix(db, prefix="2001:db8:8000::/48", kind="public", is_pool=True, unit_prefixlen=56,
                              auto_assign=True)
        px.create_prefix(db, prefix="192.0.2.0/28", kind="public", is_pool=True, unit_prefixlen=32)  # not auto
        db.commit()
    return v4, v6


def test_activating_an_internet_service_takes_a_unit_of_each_auto_pool(db, world, in_loc, auto_pools,
                                                                       make_service):
    first = make_service()  # created and activated at once
    with in_loc(world.loc_a):
        held = asg.assignments_of(db, first.id, with_history=False)
        assert sorted((a.text, a.origin) for a in held) == [("100.64.0.1", "lifecycle"),
                                                            ("2001:db8:8000::/56", "lifecycle")]
        pending = make_service(activate=False)
        assert asg.assignments_of(db, pending.id) == []
        lifecycle.activate(db, pending)
        assert sorted(a.text for a in asg.assignments_of(db, pending.id)) == ["100.64.0.2", "2001:db8:8000:100::/56"]
        db.commit()
    # the /30 pool is full now (network and broadcast are reserved): the next activation is refused
    with in_loc(world.loc_a):
        customer = customers.create_customer(db, kind="person", first_name="Petr", last_name="Plný")
        product_id = db.scalar(select(Product.id).where(Product.code == "NET100"))
        with pytest.raises(IpamError, match="100.64.0.0/30"):
            services.create_service(db, customer_id=customer.id, product_id=product_id, activate=True)
        db.rollback()


def test_services_of_other_kinds_get_no_addresses_on_activation(db, world, in_loc, auto_pools):
    with in_loc(world.loc_a):
        cls = catalog.create_class(db, name="Telefon", kind="other")
        product = catalog.create_product(db, class_id=cls.id, name="VoIP", code="VOIP", price="100.00",
                                         valid_from=date(2020, 1, 1), location_ids=[world.loc_a.id])
        customer = customers.create_customer(db, kind="person", first_name="Iva", last_name="Hlasová")
        voice = services.create_service(db, customer_id=customer.id, product_id=product.id, activate=True)
        assert voice.state == "active"
        assert db.scalar(select(Assignment.id).where(Assignment.service_id == voice.id)) is None
        assert db.scalar(select(MacBinding.id).where(MacBinding.service_id == voice.id)) is None
