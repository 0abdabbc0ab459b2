"""Future-dated changes: applied by the job core:apply_service_changes on their date, exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mango_core.catalog import service as catalog
from mango_core.history.models import HistoryEntry
from mango_core.scheduler.runner import run_job
from mango_core.services import lifecycle
from mango_core.services import service as svc
from mango_core.services.models import ACTIVE, APPLIED, FAILED, TERMINATED, Service, ServiceChange
from mango_example import plugin as example_plugin

TODAY = date.today()
D1, D2, D3 = (TODAY + timedelta(days=n) for n in (5, 6, 7))
JOB = "core:apply_service_changes"


@pytest.fixture
def scheduled(db, shop, world):
    """One service with every kind of change scheduled, and three more for activation, termination, transfer."""
    who = {"actor": world.admin_a.id}
    main = svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net100.id, activate=True, **who)
    lifecycle.change_price(db, main, "399.00", effective=D1, reason="loyalty", **who)
    lifecycle.change_billing_plan(db, main, "quarterly", effective=D1, **who)
    lifecycle.change_payment_period(db, main, 3, effective=D1, **who)
    lifecycle.shift_commitment(db, main, D3 + timedelta(days=365), effective=D1, **who)
    lifecycle.change_params(db, main, {"ipv4": "198.51.100.7"}, effective=D1, **who)
    lifecycle.block(db, main, "debt", effective=D1, reason="unpaid", **who)
    lifecycle.unblock(db, main, "debt", effective=D2, reason="paid", **who)
    lifecycle.change_product(db, main, shop.net300.id, effective=D3, keep_price=True, **who)
    pending = svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net100.id, start_date=D1,
                                 activate=True, **who)
    ending = svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net100.id, activate=True, **who)
    lifecycle.terminate(db, ending, effective=D2, reason="notice given", **who)
    moving = svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net100.id, activate=True, **who)
    lifecycle.transfer(db, moving, shop.other.id, effective=D2, reason="moved", **who)
    db.commit()
    example_plugin.SERVICE_EVENTS.clear()
    return {"main": main.id, "pending": pending.id, "ending": ending.id, "moving": moving.id}


def _run(app, mango, location_id):  # noqa: ANN001, ANN202
    with app.app_context():
        return run_job(mango, mango.jobs[JOB], location_id, trigger="manual")


def _history_count(db, action: str) -> int:  # noqa: ANN001
    """Services with an entry of ``action`` (one entry per changed field)."""
    return db.scalar(select(func.count(HistoryEntry.entity_id.distinct())).where(HistoryEntry.entity == "service",
                                                                                 HistoryEntry.action == action))


def test_nothing_is_due_before_its_date(app, mango, db, scheduled, world):
    run = _run(app, mango, world.loc_a.id)
    assert run.status == "ok" and run.result == "0 applied, 0 failed"
    assert example_plugin.SERVICE_EVENTS == []


def test_the_job_applies_everything_once_even_when_run_twice(app, mango, db, scheduled, world, monkeypatch):
    monkeypatch.setattr(svc, "today", lambda: D3)
    first = _run(app, mango, world.loc_a.id)
    assert first.status == "ok", first.error
    assert first.result == "11 applied, 0 failed"
    second = _run(app, mango, world.loc_a.id)
    assert second.result == "0 applied, 0 failed"
    db.expire_all()
    main = db.get(Service, scheduled["main"])
    assert (main.price, main.billing_plan, main.payment_period) == (Decimal("399.00"), "quarterly", 3)
    assert main.commitment_until == D3 + timedelta(days=365) and main.params["ipv4"] == "198.51.100.7"
    assert main.product_id != scheduled["main"] and main.product.code == "NET300" and main.params["download"] == 300
    assert main.state == ACTIVE and [(b.since, b.until) for b in main.blocks] == [(D1, D2)]
    assert db.get(Service, scheduled["pending"]).state == ACTIVE
    assert db.get(Service, scheduled["pending"]).activated_on == D1
    ending = db.get(Service, scheduled["ending"])
    assert (ending.state, ending.end_date) == (TERMINATED, D2)
    moving = db.get(Service, scheduled["moving"])
    successor = lifecycle.transferred_to(db, moving)
    assert moving.state == TERMINATED and successor.customer_id != moving.customer_id and successor.start_date == D2
    heard = Counter(e["kind"] for e in example_plugin.SERVICE_EVENTS)
    assert heard == Counter({"price": 1, "billing_plan": 1, "payment_period": 1, "commitment": 1, "params": 1,
                             "block": 1, "unblock": 1, "change_product": 1, "activate": 1, "terminate": 1,
                             "transfer": 1, "created": 1})
    assert {e["user_id"] for e in example_plugin.SERVICE_EVENTS} == {world.admin_a.id}
    assert {e["effective"] for e in example_plugin.SERVICE_EVENTS if e["kind"] == "unblock"} == {D2}
    for action in ("price_changed", "blocked", "unblocked", "product_changed", "terminated", "transferred"):
        rows = db.scalars(select(HistoryEntry).where(HistoryEntry.action == action)).all()
        assert rows and {r.user_id for r in rows} == {world.admin_a.id}, action
        assert len({r.entity_id for r in rows}) == 1, action
    assert _history_count(db, "activated") == 4  # three now, one by the job
    assert not db.scalars(select(ServiceChange).where(ServiceChange.state == "scheduled")).all()


def test_a_change_that_no_longer_fits_fails_alone(app, mango, db, shop, world, monkeypatch):
    service = svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net100.id, activate=True)
    tariff = lifecycle.change_product(db, service, shop.net300.id, effective=D1)
    price = lifecycle.change_price(db, service, "10.00", effective=D1)
    catalog.update_product(db, shop.net300, valid_until=D1 - timedelta(days=1))  # withdrawn meanwhile
    db.commit()
    monkeypatch.setattr(svc, "today", lambda: D1)
    run = _run(app, mango, world.loc_a.id)
    assert run.result == "1 applied, 1 failed"
    db.expire_all()
    failed = db.get(ServiceChange, tariff.id)
    assert failed.state == FAILED and "NET300" in failed.error
    assert db.get(ServiceChange, price.id).state == APPLIED
    assert db.get(Service, service.id).product.code == "NET100"


def test_the_job_of_another_location_does_not_touch_these_changes(app, mango, db, scheduled, world, monkeypatch):
    monkeypatch.setattr(svc, "today", lambda: D3)
    run = _run(app, mango, world.loc_b.id)
    assert run.result == "0 applied, 0 failed"
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ServiceChange).where(ServiceChange.state == "scheduled")) == 11


def test_the_job_is_registered(mango):
    job = mango.jobs[JOB]
    assert job.plugin == "core" and job.trigger["trigger"] == "cron"
