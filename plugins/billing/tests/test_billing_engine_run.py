"""The billing run against the database: VAT, non-payers, parent billing, numbering, idempotency, credit notes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from mango_billing import plans
from mango_billing.invoices import InvoiceError, credit_note, to_document
from mango_billing.models import BillingRun, Charge, Invoice, InvoiceLine, LedgerEntry
from mango_billing.run import RunError, run_billing
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.services.models import Service
from mango_core.tenancy.context import location_scope
from mango_core.testing.factories import make_row
from mango_example.plugin import MONEY_EVENTS

ISSUED = date(2025, 3, 1)


def product(db, price: str, rate: str = "21", **kw) -> Product:
    return make_row(db, Product, price=Decimal(price), vat_rate=Decimal(rate), **kw)


def service(db, customer, prod, **kw) -> Service:
    row = make_row(db, Service, customer_id=customer.id, product_id=prod.id, class_id=prod.class_id,
                   state="active", start_date=date(2024, 1, 1), activated_on=date(2024, 1, 1), **kw)
    db.flush()
    return row


@pytest.fixture
def prg(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        yield world.loc_a


def test_vat_per_rate_numbering_ledger_and_event(db, prg):
    net, magazine, free = product(db, "413.22"), product(db, "89.29", "12"), product(db, "50.00", "0")
    alice, bob = make_row(db, Customer), make_row(db, Customer)
    for p in (net, magazine, free):
        service(db, alice, p)
    service(db, bob, net)
    db.add(Charge(customer_id=bob.id, description="Instalace", unit_price=Decimal("1000"), quantity=Decimal("1"),
                  vat_rate=Decimal("21"), charge_on=date(2025, 2, 10)))
    db.add(Charge(customer_id=bob.id, description="Sleva", unit_price=Decimal("-100"), quantity=Decimal("1"),
                  vat_rate=Decimal("21"), charge_on=date(2025, 3, 20)))
    db.commit()
    MONEY_EVENTS.clear()
    result = run_billing(db, prg, "2025-03", issued_on=ISSUED)
    assert (result.invoices, result.customers) == (2, 2)
    inv = db.scalar(select(Invoice).where(Invoice.customer_id == alice.id))
    assert [(ln.vat_rate, ln.base, ln.vat) for ln in inv.lines] == [
        (Decimal("21"), Decimal("413.22"), Decimal("86.78")), (Decimal("12"), Decimal("89.29"), Decimal("10.71")),
        (Decimal("0"), Decimal("50.00"), Decimal("0.00"))]
    assert (inv.total_base, inv.total_vat, inv.total) == (Decimal("552.51"), Decimal("97.49"), Decimal("650.00"))
    assert inv.taxable_supply_date == ISSUED and inv.due_date == date(2025, 3, 15)
    assert inv.variable_symbol == alice.variable_symbol and inv.seller["ico"] == prg.ico
    bob_inv = db.scalar(select(Invoice).where(Invoice.customer_id == bob.id))
    assert sorted(ln.kind for ln in bob_inv.lines) == ["discount", "one_off", "recurring"]
    assert bob_inv.total_base == Decimal("1313.22")
    assert sorted(i.number for i in db.scalars(select(Invoice))) == ["FV2025000001", "FV2025000002"]
    assert db.scalar(select(func.count()).select_from(Charge).where(Charge.invoice_id.is_(None))) == 0
    ledger_sum = db.scalar(select(func.sum(LedgerEntry.amount)))
    assert ledger_sum == -(inv.total + bob_inv.total)
    assert MONEY_EVENTS[-1]["event"] == "invoices_issued" and len(MONEY_EVENTS[-1]["ids"]) == 2
    to_document(inv).check()  # the outputs accept it
    # a second run issues nothing
    again = run_billing(db, prg, "2025-03", issued_on=ISSUED)
    assert again.already_done and db.scalar(select(func.count()).select_from(Invoice)) == 2
    run = db.scalar(select(BillingRun))
    assert (run.state, run.invoices, run.total) == ("done", 2, inv.total + bob_inv.total)


def test_non_vat_payer_issues_without_vat(db, prg):
    prg.vat_payer = False
    net = product(db, "500.00")
    service(db, make_row(db, Customer), net)
    db.commit()
    run_billing(db, prg, "2025-03", issued_on=ISSUED)
    inv = db.scalar(select(Invoice))
    assert (inv.vat_payer, inv.total_vat, inv.total) == (False, Decimal("0.00"), Decimal("500.00"))
    assert inv.lines[0].vat_rate == 0
    doc = to_document(inv).check()
    assert doc.vat_rows == () and not doc.is_tax_document


def test_parent_billing_and_plans(db, prg):
    parent = make_row(db, Customer)
    child = make_row(db, Customer, parent_id=parent.id, bill_to_parent=True)
    own = make_row(db, Customer, parent_id=parent.id, bill_to_parent=False)
    quarterly = plans.create_plan(db, {"code": "q", "name": "Quarterly", "period": "quarterly", "due_days": 30})
    net = product(db, "100.00", billing_plan={"plan_id": quarterly.id})
    plain = product(db, "200.00")
    service(db, child, net)
    service(db, parent, plain)
    service(db, own, plain)
    db.commit()
    assert plans.plan_of(db, db.get(Service, db.scalar(select(Service.id).where(Service.customer_id == child.id)))
                         ).months == 3
    run_billing(db, prg, "2025-04", issued_on=date(2025, 4, 1))
    invoices = {i.customer_id: i for i in db.scalars(select(Invoice))}
    assert set(invoices) == {parent.id, own.id}
    lines = invoices[parent.id].lines
    assert sorted(ln.base for ln in lines) == [Decimal("200.00"), Decimal("300.00")]
    assert any(ln.description.startswith(child.display_name) for ln in lines)
    assert invoices[parent.id].due_date == date(2025, 4, 15)  # the shortest due of its lines' plans


def test_price_change_from_the_lifecycle_is_rated_from_history(db, prg):
    from mango_core.services import lifecycle

    net = product(db, "310.00")
    svc = service(db, make_row(db, Customer), net)
    lifecycle.change_price(db, svc, "620.00", effective=date(2025, 3, 11))
    db.commit()
    run_billing(db, prg, "2025-03", issued_on=ISSUED)
    assert [ln.base for ln in db.scalar(select(Invoice)).lines] == [Decimal("100.00"), Decimal("420.00")]


def test_run_errors_and_dry_run(db, prg):
    service(db, make_row(db, Customer), product(db, "100.00"))
    db.commit()
    with pytest.raises(RunError, match="YYYY-MM"):
        run_billing(db, prg, "2025-3x")
    prg.dic = None
    with pytest.raises(RunError, match="DIČ"):
        run_billing(db, prg, "2025-03", dry_run=True)
    prg.dic = "CZ27082440"
    result = run_billing(db, prg, "2025-03", dry_run=True, keep_drafts=True)
    assert result.invoices == 1 and result.total == Decimal("121.00") and len(result.drafts) == 1
    assert db.scalar(select(func.count()).select_from(Invoice)) == 0
    assert db.scalar(select(func.count()).select_from(BillingRun)) == 0


def test_credit_notes_and_immutable_invoices(db, prg):
    svc_a = service(db, make_row(db, Customer), product(db, "1000.00"))
    service(db, db.get(Customer, svc_a.customer_id), product(db, "100.00", "12"))
    db.commit()
    run_billing(db, prg, "2025-03", issued_on=ISSUED)
    inv = db.scalar(select(Invoice))
    with pytest.raises(InvoiceError, match="reason"):
        credit_note(db, inv, [{"vat_rate": "21", "amount": "10"}], " ")
    with pytest.raises(InvoiceError, match="exceed"):
        credit_note(db, inv, [{"vat_rate": "21", "amount": "1000.01"}], "too much")
    with pytest.raises(InvoiceError, match="no line"):
        credit_note(db, inv, [{"vat_rate": "15", "amount": "1"}], "rate")
    for bad in ("-1", "abc", "0", "1.001"):
        with pytest.raises(InvoiceError):
            credit_note(db, inv, [{"vat_rate": "21", "amount": bad}], "bad")
    note = credit_note(db, inv, [{"line_id": inv.lines[0].id, "amount": "400.00"}], "Výpadek", issued_on=ISSUED)
    db.commit()
    assert (note.kind, note.original_id, note.total_base, note.total_vat) == (
        "credit_note", inv.id, Decimal("-400.00"), Decimal("-84.00"))
    assert note.number == "OD2025000001"
    second = credit_note(db, inv, [{"vat_rate": "21", "amount": "600.00"}], "Zbytek", issued_on=ISSUED)
    assert second.total_vat == Decimal("-126.00")  # the rest of 210.00
    with pytest.raises(InvoiceError, match="exceed"):
        credit_note(db, inv, [{"vat_rate": "21", "amount": "0.01"}], "nothing left")
    db.commit()
    entry = db.scalar(select(LedgerEntry).where(LedgerEntry.invoice_id == note.id))
    assert entry.amount == Decimal("484.00") and entry.kind == "credit_note"
    to_document(note, original=inv).check()
    with pytest.raises(InvoiceError):
        credit_note(db, note, [{"vat_rate": "21", "amount": "1"}], "note of a note")
    # the database refuses edits and deletes of issued documents
    for stmt in (update(Invoice).where(Invoice.id == inv.id).values(total=Decimal("1")),
                 update(InvoiceLine).where(InvoiceLine.invoice_id == inv.id).values(base=Decimal("1"))):
        with pytest.raises((DBAPIError, IntegrityError)), db.begin_nested():
            db.execute(stmt)
    with pytest.raises((DBAPIError, IntegrityError)), db.begin_nested():
        db.execute(text("DELETE FROM billing_invoice WHERE id = :id"), {"id": inv.id})
