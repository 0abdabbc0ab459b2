"""The billing run's bulk path: ids allocated up front, COPY/executemany inserts, usage and charges marked,
uniCredit found by one look per batch — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from mango_billing import plans, prepaid
from mango_billing.invoices import allocate_ids, bulk_insert, in_ids
from mango_billing.models import Charge, Invoice, InvoiceLine, LedgerEntry, UsageRecord
from mango_billing.run import members_by_billed, run_billing
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.db.bulk import BulkInsertError
from mango_core.db.types import InexactMoneyError
from mango_core.services.models import Service
from mango_core.tenancy.context import location_scope
from mango_core.testing.factories import make_row

ISSUED = date(2025, 3, 1)


@pytest.fixture
def prg(app, db, world):  # noqa: ANN001, ANN201
    with app.app_context(), location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        yield world.loc_a


def _service(db, customer: Customer, price: str = "100.00", **kw) -> Service:  # noqa: ANN001
    prod = make_row(db, Product, price=Decimal(price), vat_rate=Decimal("21"))
    row = make_row(db, Service, customer_id=customer.id, product_id=prod.id, class_id=prod.class_id, state="active",
                   start_date=date(2024, 1, 1), activated_on=date(2024, 1, 1), **kw)
    db.flush()
    return row


def test_many_customers_in_several_batches_get_consistent_books(db, prg):
    customers = [make_row(db, Customer) for _ in range(23)]
    for i, customer in enumerate(customers):
        _service(db, customer, price=f"{100 + i}.33")
        if i % 3 == 0:
            _service(db, customer, price="10.00")
    db.commit()
    result = run_billing(db, prg, "2025-03", issued_on=ISSUED, batch_size=5)
    assert (result.customers, result.invoices) == (23, 23)
    invoices = db.scalars(select(Invoice).order_by(Invoice.sequence)).all()
    assert [i.sequence for i in invoices] == list(range(1, 24))  # gapless across batches
    assert len({i.id for i in invoices}) == 23 and len({i.uuid for i in invoices}) == 23
    for invoice in invoices:
        lines = invoice.lines
        assert [ln.position for ln in lines] == list(range(1, len(lines) + 1))
        assert sum(ln.base for ln in lines) == invoice.total_base
        assert invoice.seller["dic"] == "CZ27082440" and invoice.buyer["name"]
    assert db.scalar(select(func.count()).select_from(InvoiceLine)) == 23 + 8
    entries = db.scalars(select(LedgerEntry)).all()
    assert sorted(e.invoice_id for e in entries) == sorted(i.id for i in invoices)
    assert sum(e.amount for e in entries) == -sum(i.total for i in invoices)
    assert all(e.note == next(i.number for i in invoices if i.id == e.invoice_id) for e in entries)


def test_usage_and_charges_are_marked_with_their_invoice(db, prg):
    customer = make_row(db, Customer)
    svc = _service(db, customer)
    for n, price in enumerate(("1.2345", "0.5000", "2.0000")):
        db.add(UsageRecord(source="cdr", key=f"k{n}", service_id=svc.id, quantity=Decimal("60"), unit="s",
                           description="call", detail={}, price=Decimal(price),
                           started_at=datetime(2025, 2, 10, 12, tzinfo=UTC)))
    db.add(Charge(customer_id=customer.id, description="Router", unit_price=Decimal("990"), quantity=Decimal("2"),
                  vat_rate=Decimal("21"), charge_on=date(2025, 2, 20)))
    db.commit()
    run_billing(db, prg, "2025-03", issued_on=ISSUED)
    invoice = db.scalar(select(Invoice))
    kinds = sorted((ln.kind, ln.base) for ln in invoice.lines)
    assert kinds == [("one_off", Decimal("1980.00")), ("recurring", Decimal("100.00")), ("usage", Decimal("3.73"))]
    assert set(db.scalars(select(UsageRecord.invoice_id))) == {invoice.id}
    assert set(db.scalars(select(Charge.invoice_id))) == {invoice.id}


def test_bulk_insert_refuses_an_inexact_amount_and_an_unstamped_row(db, prg):
    customer = make_row(db, Customer)
    db.commit()
    columns = {"customer_id": [customer.id], "amount": [Decimal("1.005")], "note": ["x"]}
    constants = {"location_id": prg.id, "account": "receivable", "kind": "adjustment", "booked_on": ISSUED}
    # SQLite: SQLAlchemy wraps the type's refusal in a StatementError; COPY (PostgreSQL) raises it as is
    with pytest.raises((InexactMoneyError, StatementError), match="more than 2 decimal places"), db.begin_nested():
        bulk_insert(db, LedgerEntry, columns, constants)
    with pytest.raises(BulkInsertError, match="location_id"):
        bulk_insert(db, LedgerEntry, {**columns, "amount": [Decimal("1.00")]}, {"account": "receivable"})
    bulk_insert(db, LedgerEntry, {**columns, "amount": [Decimal("1.5")]}, constants)
    assert db.scalar(select(LedgerEntry.amount)) == Decimal("1.50")
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 1


def test_allocated_ids_are_fresh_and_ids_filter_matches_in(db, prg):
    customers = [make_row(db, Customer) for _ in range(3)]
    _service(db, customers[0])
    db.commit()
    run_billing(db, prg, "2025-03", issued_on=ISSUED)
    existing = set(db.scalars(select(Invoice.id)))
    ids = allocate_ids(db, Invoice, 4)
    assert len(set(ids)) == 4 and not set(ids) & existing and min(ids) > max(existing)
    db.rollback()
    wanted = [c.id for c in customers[:2]]
    assert sorted(db.scalars(select(Customer.id).where(in_ids(db, Customer.id, wanted)))) == sorted(wanted)
    assert list(db.scalars(select(Customer.id).where(in_ids(db, Customer.id, [])))) == []


def test_members_by_billed_puts_the_payer_first():
    assert members_by_billed({5: 5, 3: 5, 9: 5, 7: 7}) == {5: [5, 3, 9], 7: [7]}


def test_a_prepaid_service_on_a_bank_transfer_invoice_is_drawn_from_credit(db, prg):
    """The uniCredit reaction finds a customer by a service whose plan pays from credit, though the
    invoice itself is paid by transfer (its first service's method)."""
    credit_plan = plans.create_plan(db, {"code": "KREDIT", "name": "uniCredit", "payment_method": "prepaid"})
    customer = make_row(db, Customer)
    _service(db, customer, price="300.00", billing_plan={"plan_id": None, "payment_method": "bank_transfer"})
    paid_by_credit = _service(db, customer, price="100.00", billing_plan={"plan_id": credit_plan.id})
    other = make_row(db, Customer)
    _service(db, other, price="50.00")
    db.commit()
    prepaid.topup(db, customer, "1000.00", "cash")
    db.commit()
    run_billing(db, prg, "2025-03", issued_on=ISSUED)
    invoice = db.scalar(select(Invoice).where(Invoice.customer_id == customer.id))
    assert invoice.payment_method == "bank_transfer"
    line = next(ln for ln in invoice.lines if ln.service_id == paid_by_credit.id)
    draws = db.scalars(select(LedgerEntry.amount).where(LedgerEntry.kind == "draw",
                                                        LedgerEntry.account == "prepaid")).all()
    assert draws == [-line.total]
    assert prepaid.balance(db, customer.id) == Decimal("1000.00") - line.total
