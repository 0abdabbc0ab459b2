"""A plan's billing day and blocked rule, through real runs: the scheduled job bills each customer on
their billing day; blocked days cost what the plan's rule says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mango_billing import hooks_engine, plans
from mango_billing.models import BillingRun, Invoice
from mango_billing.run import run_billing
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.scheduler.jobs import JobContext
from mango_core.services.models import Service, ServiceBlock
from mango_core.tenancy.context import location_scope
from mango_core.testing.factories import make_row


@pytest.fixture
def prg(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        yield world.loc_a


def _product(db, price: str, plan) -> Product:  # noqa: ANN001
    return make_row(db, Product, price=Decimal(price), vat_rate=Decimal("21"), billing_plan={"plan_id": plan.id})


def _service(db, customer: Customer, product: Product, *blocks: tuple[date, date | None]) -> Service:  # noqa: ANN001
    row = make_row(db, Service, customer_id=customer.id, product_id=product.id, class_id=product.class_id,
                   state="active", start_date=date(2024, 1, 1), activated_on=date(2024, 1, 1))
    for since, until in blocks:
        row.blocks.append(ServiceBlock(kind="manual", since=since, until=until))
    db.flush()
    return row


def _invoices(db) -> dict[int, Invoice]:  # noqa: ANN001
    return {i.customer_id: i for i in db.scalars(select(Invoice))}


def test_the_scheduled_run_bills_each_customer_on_their_billing_day(db, prg, monkeypatch):
    first = plans.create_plan(db, {"code": "d1", "name": "On the 1st", "billing_day": "1"})
    fifteenth = plans.create_plan(db, {"code": "d15", "name": "On the 15th", "billing_day": "15"})
    early, late = _product(db, "100.00", first), _product(db, "300.00", fifteenth)
    alice, bob, carol = (make_row(db, Customer) for _ in range(3))
    _service(db, alice, early)
    _service(db, bob, late)
    _service(db, carol, early)
    _service(db, carol, late)  # one invoice a month: carol is billed on her earliest day, the 1st
    db.commit()
    ctx = JobContext(session=db, location_id=prg.id, job_id="billing:run", settings={})

    def on(day: date) -> str:
        monkeypatch.setattr(hooks_engine, "location_today", lambda _location: day)
        return hooks_engine.scheduled_run(ctx)

    assert on(date(2025, 3, 1)) == "2 invoices, total 605.00; 1 customers wait for their billing day"
    invoices = _invoices(db)
    assert set(invoices) == {alice.id, carol.id}
    assert sorted(ln.base for ln in invoices[carol.id].lines) == [Decimal("100.00"), Decimal("300.00")]
    run = db.scalar(select(BillingRun))
    assert (run.state, run.invoices, run.total) == ("running", 2, Decimal("605.00"))

    assert on(date(2025, 3, 14)) == "0 invoices, total 0.00; 1 customers wait for their billing day"
    assert on(date(2025, 3, 15)) == "1 invoices, total 363.00"
    invoices = _invoices(db)
    assert invoices[bob.id].issued_on == date(2025, 3, 15) and invoices[alice.id].issued_on == date(2025, 3, 1)
    assert sorted(i.number for i in invoices.values()) == ["FV2025000001", "FV2025000002", "FV2025000003"]
    db.refresh(run)
    assert (run.state, run.invoices, run.total) == ("done", 3, Decimal("968.00"))
    assert on(date(2025, 3, 20)) == "2025-03 billed already"
    assert len(_invoices(db)) == 3


def test_customers_without_a_plan_are_due_on_the_1st(db, prg, monkeypatch):
    fifteenth = plans.create_plan(db, {"code": "d15", "name": "On the 15th", "billing_day": "15"})
    planned, plain = make_row(db, Customer), make_row(db, Customer)
    _service(db, planned, _product(db, "300.00", fifteenth))
    _service(db, plain, make_row(db, Product, price=Decimal("100.00"), vat_rate=Decimal("21")))  # default terms
    db.commit()
    monkeypatch.setattr(hooks_engine, "location_today", lambda _location: date(2025, 3, 1))
    ctx = JobContext(session=db, location_id=prg.id, job_id="billing:run", settings={})
    assert hooks_engine.scheduled_run(ctx) == "1 invoices, total 121.00; 1 customers wait for their billing day"
    assert set(_invoices(db)) == {plain.id}


def test_a_run_by_hand_bills_everybody_at_once(db, prg):
    fifteenth = plans.create_plan(db, {"code": "d15", "name": "On the 15th", "billing_day": "15"})
    _service(db, make_row(db, Customer), _product(db, "300.00", fifteenth))
    db.commit()
    early = run_billing(db, prg, "2025-03", issued_on=date(2025, 3, 2), due_by=date(2025, 3, 2))
    assert (early.invoices, early.waiting) == (0, 1)
    result = run_billing(db, prg, "2025-03", issued_on=date(2025, 3, 2))  # Opcare or the CLI: no billing day
    assert (result.invoices, result.waiting) == (1, 0)
    assert db.scalar(select(BillingRun.state)) == "done"


def test_blocked_days_cost_what_the_plan_says(db, prg):
    rules = {rule: plans.create_plan(db, {"code": rule, "name": rule, "blocked_rule": rule})
             for rule in ("bill", "prorate", "skip")}
    products = {rule: _product(db, "310.00", plan) for rule, plan in rules.items()}  # 10.00 a day in March
    mid_march = (date(2025, 3, 11), date(2025, 3, 21))  # 10 blocked days
    customers = {name: make_row(db, Customer) for name in ("bill", "prorate", "skip_first", "skip_later")}
    _service(db, customers["bill"], products["bill"], mid_march)
    _service(db, customers["prorate"], products["prorate"], mid_march)
    _service(db, customers["skip_first"], products["skip"], (date(2025, 2, 20), date(2025, 3, 5)))
    _service(db, customers["skip_later"], products["skip"], mid_march)
    db.commit()
    run_billing(db, prg, "2025-03", issued_on=date(2025, 3, 1))
    invoices = _invoices(db)
    bases = {name: [ln.base for ln in invoices[c.id].lines] for name, c in customers.items() if c.id in invoices}
    assert bases == {
        "bill": [Decimal("310.00")],
        "prorate": [Decimal("100.00"), Decimal("110.00")],  # 1–10 and 21–31 March
        # skip: a period whose first day is blocked is not billed; a block starting later does not reduce it
        "skip_later": [Decimal("310.00")],
    }
