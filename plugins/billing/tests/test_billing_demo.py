"""`mango demo` with billing: plans, runs, a bank statement and dunning work — twice changes nothing, money adds up."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from mango_billing import demo, dunning, ledger
from mango_billing.models import (
    BillingPlan,
    BillingRun,
    Invoice,
    LedgerEntry,
    Payment,
    PriceListRecord,
    ProductUsage,
    StatementFile,
)
from mango_core.catalog.models import Product
from mango_core.db.base import Base
from mango_core.demo import load_demo
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Location
from mango_example.models import ExampleNote
from mango_example.plugin import DEMO_NOTE

DEMO_LOCATIONS = ("BRNO", "KLADNO", "PRAHA")


def row_counts(db) -> dict[str, int]:  # noqa: ANN001
    with operator_scope():
        return {name: db.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()  # noqa: S608 - table names
                for name in sorted(Base.metadata.tables)}


def locations(db) -> dict[str, Location]:  # noqa: ANN001
    with operator_scope():
        return {loc.code: loc for loc in db.scalars(select(Location).where(Location.code.in_(DEMO_LOCATIONS)))}


@pytest.fixture
def loaded(app, db, mango):  # noqa: ANN001, ANN201
    with app.app_context():
        load_demo(db, mango)
        yield locations(db)


def check_ledger(db, code: str) -> dict[str, int]:  # noqa: ANN001
    """Every document has its ledger entry of its total, every matched payment its entry; returns counts."""
    invoices = list(db.scalars(select(Invoice)))
    entries = {(e.kind, e.invoice_id): e for e in db.scalars(select(LedgerEntry).where(
        LedgerEntry.account == "receivable", LedgerEntry.invoice_id.is_not(None),
        LedgerEntry.kind.in_(("invoice", "credit_note"))))}
    for invoice in invoices:
        entry = entries.get((invoice.kind, invoice.id))
        assert entry is not None, f"{code}: invoice {invoice.number} has no ledger entry"
        assert entry.amount == -invoice.total and entry.customer_id == invoice.customer_id, invoice.number
        assert invoice.total == invoice.total_base + invoice.total_vat + invoice.rounding, invoice.number
    assert len(entries) == len(invoices)
    payments = list(db.scalars(select(Payment)))
    booked = {e.payment_id: e for e in db.scalars(select(LedgerEntry).where(
        LedgerEntry.payment_id.is_not(None), LedgerEntry.kind.in_(("payment", "topup"))))}
    for payment in payments:
        entry = booked.get(payment.id)
        if payment.state == "matched":
            assert entry is not None, f"{code}: matched payment {payment.id} is not booked"
            assert (entry.amount, entry.customer_id, entry.account) == (payment.amount, payment.customer_id,
                                                                        payment.target)
        else:
            assert entry is None, f"{code}: {payment.state} payment {payment.id} is booked"
    # uniCredit: money moved between accounts, never made: draws equal the receivable credit they paid
    draws = db.scalars(select(LedgerEntry).where(LedgerEntry.kind == "draw")).all()
    by_invoice: dict[tuple[int, str], Decimal] = {(e.invoice_id, e.account): e.amount for e in draws}
    for (invoice_id, account), amount in by_invoice.items():
        if account == "prepaid":
            assert by_invoice[(invoice_id, "receivable")] == -amount
    for cid in set(db.scalars(select(LedgerEntry.customer_id).where(LedgerEntry.account == "prepaid"))):
        assert ledger.balance(db, cid, "prepaid") >= 0, f"{code}: negative uniCredit of customer {cid}"
    return {"invoices": len(invoices), "payments": len(payments), "draws": len(draws)}


def test_the_demo_bills_two_months_imports_a_statement_and_a_second_run_changes_nothing(app, db, mango, loaded):
    today = date.today()
    periods = demo.demo_periods(today)
    assert set(loaded) == set(DEMO_LOCATIONS)
    for code, location in sorted(loaded.items()):
        with location_scope(location.id):
            assert {p.code for p in db.scalars(select(BillingPlan))} >= {"MESIC", "CTVRTLETI", "ROK", "KREDIT"}
            products = {p.code: p for p in db.scalars(select(Product))}
            assert all(products[c].billing_plan and products[c].billing_plan.get("plan_id")
                       for c in demo.PRODUCT_PLANS), code
            voip = db.scalar(select(ProductUsage).where(ProductUsage.product_id == products["VOIP"].id))
            assert voip is not None and voip.free_minutes == demo.VOIP_FREE_MINUTES
            assert db.get(PriceListRecord, voip.price_list_id).code == demo.PRICE_LIST_CODE
            assert [s.action for s in dunning.steps(db)] == ["reminder", "reminder", "block", "termination_proposal"]

            runs = list(db.scalars(select(BillingRun).order_by(BillingRun.period_start)))
            assert [(r.period_start, r.state) for r in runs] == [(p, "done") for p in periods], code
            assert all(r.invoices > 0 for r in runs)
            counts = check_ledger(db, code)
            assert counts["invoices"] == sum(r.invoices for r in runs)
            assert counts["draws"] > 0, f"{code}: uniCredit paid no invoice"

            assert db.scalar(select(func.count()).select_from(StatementFile)) == 1
            states = dict(db.execute(select(Payment.state, func.count()).where(Payment.method == "bank")
                                     .group_by(Payment.state)).all())
            assert states.get("matched", 0) > 20 and states.get("unmatched", 0) >= 2 and states.get("ignored") == 1
            # partly paid and over-paid customers, and debtors for dunning
            balances = ledger.balances(db, list(db.scalars(select(Invoice.customer_id).distinct())))
            assert any(b > 0 for b in balances.values()), f"{code}: nobody over-paid"
            partly = [i for cid, b in balances.items() if b < 0 for i in ledger.open_items(db, cid)
                      if 0 < i.unpaid < i.total]
            assert partly, f"{code}: no partly paid invoice"
            proposals = dunning.plan(db, today)
            assert proposals and {p.action for p in proposals} & {"reminder", "block", "termination_proposal"}
            assert db.scalar(select(func.count()).select_from(ExampleNote).where(ExampleNote.text == DEMO_NOTE)) == 1

    before = row_counts(db)
    load_demo(db, mango)
    assert row_counts(db) == before


def test_the_statement_is_deterministic(app, db, mango, loaded):
    """The same demo data give the same GPC bytes (a seeded generator, amounts from the invoices)."""
    from mango_billing.bank.gpc_writer import write_gpc
    from mango_core.tenancy.models import BankAccount

    location = loaded["PRAHA"]
    with location_scope(location.id):
        account = db.scalar(select(BankAccount).order_by(BankAccount.is_default.desc(), BankAccount.id))
        periods = demo.demo_periods(date.today())
        made = [write_gpc(demo.demo_statement(db, location, account, random.Random("x"), periods, date.today()))
                for _ in range(2)]
        assert made[0] == made[1] and made[0].startswith(b"074")


def test_the_product_form_shows_the_billing_plan_with_a_link_to_change_it(app, db, client, loaded):
    from mango_core.demo import DEMO_PASSWORD
    from mango_core.testing.fixtures import login

    with location_scope(loaded["PRAHA"].id):
        product = db.scalar(select(Product).where(Product.code == "TVPLUS"))
        product_id = product.id
    login(client, "admin@alfanet.example", DEMO_PASSWORD)
    html = client.get(f"/catalog/products/{product_id}").get_data(as_text=True)
    assert 'id="product-billing-plan"' in html
    assert "CTVRTLETI – Čtvrtletně předem" in html
    assert f'href="/billing/plans/products/{product_id}"' in html
    # a new product has no plan to show yet
    new = client.get(f"/catalog/products/new?class_id={product.class_id}")
    assert new.status_code == 200 and 'id="product-form-slot"' in new.get_data(as_text=True)
    assert 'id="product-billing-plan"' not in new.get_data(as_text=True)
