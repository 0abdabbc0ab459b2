"""Lifecycle operations of services: now and future-dated, validation, history, events."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from mango_core.customers.models import Customer
from mango_core.history.models import HistoryEntry
from mango_core.services import lifecycle
from mango_core.services import service as svc
from mango_core.services.errors import InvalidState, ServiceError
from mango_core.services.models import ACTIVE, APPLIED, BLOCKED, PENDING, SCHEDULED, TERMINATED, ServiceChange
from mango_example import plugin as example_plugin

TODAY = date.today()
LATER = TODAY + timedelta(days=10)


def new_service(db, shop, world, **kw):  # noqa: ANN001, ANN201
    return svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net100.id,
                              params={"ipv4": "192.0.2.10"}, actor=world.admin_a.id, **kw)


def history(db, service, action=None):  # noqa: ANN001, ANN201
    stmt = select(HistoryEntry).where(HistoryEntry.entity == "service", HistoryEntry.entity_id == service.id)
    if action:
        stmt = stmt.where(HistoryEntry.action == action)
    return list(db.scalars(stmt.order_by(HistoryEntry.id)))


def kinds_heard():  # noqa: ANN201
    return [e["kind"] for e in example_plugin.SERVICE_EVENTS]


def test_create_takes_product_defaults_and_validates(db, shop, world):
    service = new_service(db, shop, world)
    assert service.state == PENDING
    assert service.params == {"download": 100, "upload": 20, "ipv4": "192.0.2.10"}
    assert service.class_version == 1 and service.effective_price == Decimal("499.00")
    assert [e.action for e in history(db, service)] == ["created"] * len(history(db, service))
    assert {e.user_id for e in history(db, service)} == {world.admin_a.id}
    assert kinds_heard() == ["created"]
    with pytest.raises(Exception) as info:
        svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net100.id,
                           params={"download": "0", "ipv4": "999.1.1.1", "nonsense": 1})
    assert set(info.value.errors) == {"download", "ipv4", "nonsense"}


def test_create_refuses_product_not_sold_or_not_valid(db, shop, world):
    from mango_core.catalog import service as catalog

    catalog.update_product(db, shop.net300, location_ids=[world.loc_a2.id])
    with pytest.raises(ServiceError) as info:
        svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net300.id)
    assert "not sold" in info.value.message
    catalog.update_product(db, shop.net300, location_ids=[world.loc_a.id], valid_until=TODAY - timedelta(days=1))
    with pytest.raises(ServiceError) as info:
        svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net300.id)
    assert "not valid" in info.value.message
    # valid again from a future date: sellable from that date only
    catalog.update_product(db, shop.net300, valid_from=LATER, valid_until=None)
    with pytest.raises(ServiceError):
        svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net300.id)
    assert svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net300.id, start_date=LATER).id


def test_activate_now_makes_the_lead_customer_active(db, shop, world):
    service = new_service(db, shop, world)
    change = lifecycle.activate(db, service, actor=world.admin_a.id)
    assert change.state == APPLIED and service.state == ACTIVE and service.activated_on == TODAY
    assert db.get(Customer, shop.customer.id).state == "active"
    assert history(db, service, "activated")[0].user_id == world.admin_a.id
    with pytest.raises(InvalidState):
        lifecycle.activate(db, service)
    assert kinds_heard() == ["created", "activate"]


def test_create_with_activation_on_a_future_start_is_scheduled(db, shop, world):
    service = new_service(db, shop, world, start_date=LATER, activate=True)
    assert service.state == PENDING
    [change] = svc.scheduled_changes(db, service)
    assert (change.kind, change.effective, change.state) == ("activate", LATER, SCHEDULED)
    assert history(db, service, "change_scheduled")


def test_overlapping_blocks(db, shop, world):
    service = new_service(db, shop, world, activate=True)
    lifecycle.block(db, service, "debt", reason="unpaid invoice", actor=world.admin_a.id)
    lifecycle.block(db, service, "manual", reason="customer asked")
    assert service.state == BLOCKED and {b.kind for b in service.open_blocks()} == {"debt", "manual"}
    with pytest.raises(ServiceError):
        lifecycle.block(db, service, "debt")  # one open block of a kind at a time
    lifecycle.unblock(db, service, "debt", reason="paid")
    assert service.state == BLOCKED  # the manual block is still open
    with pytest.raises(ServiceError):
        lifecycle.unblock(db, service, "debt")
    lifecycle.unblock(db, service, "manual", reason="back")
    assert service.state == ACTIVE and not service.open_blocks()
    assert [b.until for b in service.blocks] == [TODAY, TODAY]
    assert history(db, service, "blocked")[0].reason == "unpaid invoice"
    with pytest.raises(ServiceError):
        lifecycle.block(db, service, "holiday")


def test_bad_input_changes_nothing(db, shop, world):
    service = new_service(db, shop, world, activate=True)
    before = (service.state, service.price, service.params, len(history(db, service)))
    for call in (lambda: lifecycle.change_price(db, service, "12.345"),
                 lambda: lifecycle.change_price(db, service, "-1"),
                 lambda: lifecycle.change_params(db, service, {"download": "fast"}),
                 lambda: lifecycle.change_payment_period(db, service, 5),
                 lambda: lifecycle.terminate(db, service, effective=TODAY, reason=""),
                 lambda: lifecycle.shift_commitment(db, service, TODAY - timedelta(days=400)),
                 lambda: lifecycle.transfer(db, service, shop.customer.id),
                 lambda: lifecycle.change_product(db, service, shop.net100.id)):
        with pytest.raises(ServiceError):
            call()
    assert (service.state, service.price, service.params, len(history(db, service))) == before
    assert db.scalar(select(ServiceChange).where(ServiceChange.kind != "activate")) is None


def test_price_billing_plan_period_commitment_now(db, shop, world):
    service = new_service(db, shop, world, activate=True)
    lifecycle.change_price(db, service, "450.10", actor=world.admin_a.id, reason="discount")
    assert service.price == Decimal("450.10") and service.effective_price == Decimal("450.10")
    lifecycle.change_billing_plan(db, service, "monthly-advance")
    lifecycle.change_payment_period(db, service, 3)
    lifecycle.shift_commitment(db, service, TODAY + timedelta(days=730))
    db.flush()
    db.expire_all()
    fresh = svc.get_service(db, service.id)
    assert (fresh.price, fresh.billing_plan, fresh.payment_period, fresh.commitment_until) == (
        Decimal("450.10"), "monthly-advance", 3, TODAY + timedelta(days=730))
    [entry] = history(db, service, "price_changed")
    assert (entry.before, entry.after, entry.reason, entry.user_id) == (None, "450.10", "discount", world.admin_a.id)
    lifecycle.change_price(db, fresh, None)
    assert fresh.effective_price == Decimal("499.00")


def test_tariff_change_keeps_fitting_values_and_takes_new_defaults(db, shop, world):
    service = new_service(db, shop, world, activate=True, price="400.00")
    lifecycle.change_product(db, service, shop.net300.id, actor=world.admin_a.id)
    assert service.product_id == shop.net300.id
    assert service.params == {"download": 300, "upload": 50, "ipv4": "192.0.2.10"}
    assert service.price is None  # the override belonged to the old tariff
    entries = {e.field: (e.before, e.after) for e in history(db, service, "product_changed")}
    assert entries["product"] == ("NET100", "NET300") and entries["params.download"] == ("100", "300")


def test_params_change_moves_the_service_to_the_current_class_version(db, shop, world):
    from mango_core.catalog import service as catalog
    from mango_core.params import ParamDef

    service = new_service(db, shop, world, activate=True)
    report = catalog.set_param(db, shop.cls, ParamDef("vlan", "VLAN", "integer", required=True, min=1, max=4094))
    assert report.changed and report.services == {service.id: {"vlan": report.services[service.id]["vlan"]}}
    assert service.class_version == 1  # kept valid under its own version
    with pytest.raises(ServiceError) as info:
        lifecycle.change_params(db, service, {"upload": "30"})
    assert "vlan" in str(info.value)
    lifecycle.change_params(db, service, {"upload": "30", "vlan": "100"})
    assert service.class_version == 2 and service.params["vlan"] == 100 and service.params["upload"] == 30


def test_transfer_to_another_customer(db, shop, world):
    service = new_service(db, shop, world, activate=True)
    lifecycle.block(db, service, "manual")
    lifecycle.transfer(db, service, shop.other.id, actor=world.admin_a.id, reason="moved out")
    assert service.state == TERMINATED and service.end_date == TODAY
    new = lifecycle.transferred_to(db, service)
    assert new.customer_id == shop.other.id and new.state == ACTIVE and new.params == service.params
    assert new.transferred_from_id == service.id and not new.blocks
    assert history(db, service, "transferred")[0].customer_id == shop.customer.id
    assert history(db, new, "created")[0].customer_id == shop.other.id


def test_terminate_closes_blocks_and_is_final(db, shop, world):
    service = new_service(db, shop, world, activate=True)
    lifecycle.block(db, service, "debt")
    lifecycle.terminate(db, service, effective=TODAY, reason="moving abroad", actor=world.admin_a.id)
    assert service.state == TERMINATED and service.end_date == TODAY and service.termination_reason == "moving abroad"
    assert all(b.until is not None for b in service.blocks)
    for call in (lambda: lifecycle.block(db, service, "manual"), lambda: lifecycle.change_price(db, service, "1"),
                 lambda: lifecycle.activate(db, service)):
        with pytest.raises(InvalidState):
            call()


def test_future_changes_are_scheduled_and_cancellable(db, shop, world):
    service = new_service(db, shop, world, activate=True)
    change = lifecycle.change_price(db, service, "300.00", effective=LATER, actor=world.admin_a.id)
    assert change.state == SCHEDULED and service.price is None
    assert kinds_heard() == ["created", "activate"]  # nothing happened yet
    termination = lifecycle.terminate(db, service, effective=LATER + timedelta(days=5), reason="end")
    with pytest.raises(ServiceError) as info:
        lifecycle.change_payment_period(db, service, 12, effective=LATER + timedelta(days=6))
    assert "end on" in info.value.message
    lifecycle.cancel(db, termination, actor=world.admin_a.id)
    assert termination.state == "cancelled"
    with pytest.raises(ServiceError):
        lifecycle.cancel(db, termination)
    assert history(db, service, "change_cancelled")[0].user_id == world.admin_a.id
    assert [c.id for c in svc.scheduled_changes(db, service)] == [change.id]


def test_events_reach_only_plugins_enabled_in_the_location(app, db, world):
    from mango_core.customers import service as customers
    from mango_core.tenancy import location_scope
    from tests.services.conftest import make_shop

    with app.test_request_context(), location_scope(world.loc_b.id):  # the example plugin is off in BRN
        shop = make_shop(db, [world.loc_b.id])
        customer = customers.create_customer(db, kind="person", first_name="Petr", last_name="Brněnský")
        service = svc.create_service(db, customer_id=customer.id, product_id=shop.net100.id, activate=True)
        assert service.state == ACTIVE
    assert example_plugin.SERVICE_EVENTS == []


def test_devices_link_within_the_location(db, shop, world):
    from mango_core.devices.models import Device
    from mango_core.tenancy import location_scope
    from mango_core.testing.factories import make_row

    service = new_service(db, shop, world)
    device = make_row(db, Device)
    with location_scope(world.loc_b.id):
        foreign = make_row(db, Device)
    svc.link_device(db, service, device.id, actor=world.admin_a.id)
    with pytest.raises(ServiceError):
        svc.link_device(db, service, device.id)
    with pytest.raises(ServiceError):
        svc.link_device(db, service, foreign.id)
    assert [link.device_id for link in service.device_links] == [device.id]
    svc.unlink_device(db, service, device.id)
    assert service.device_links == []
    assert [e.action for e in history(db, service) if e.action.startswith("device")] == ["device_linked",
                                                                                        "device_unlinked"]
