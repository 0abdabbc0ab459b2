"""Dunning: dry run then execute, each step once, never-block, disputes, minimum debt, automatic unblock."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from mango_billing import dunning, ledger
from mango_billing.models import Charge, DunningAction, Invoice, InvoiceSeries, Payment
from mango_core.catalog import service as catalog
from mango_core.cli import main
from mango_core.customers import service as customers
from mango_core.documents.models import Document
from mango_core.history.models import HistoryEntry
from mango_core.params import ParamDef
from mango_core.services import lifecycle
from mango_core.services import service as svc
from mango_core.tenancy import location_scope

TODAY = date.today()
_numbers = itertools.count(1)


def make_invoice(db, customer, total: str, due: date, *, kind: str = "invoice",  # noqa: ANN001
                 payment_method: str = "bank_transfer") -> Invoice:
    """An issued document and its ledger entry, written directly (as the billing engine would)."""
    series = db.scalar(select(InvoiceSeries).where(InvoiceSeries.code == "TST"))
    if series is None:
        series = InvoiceSeries(code="TST", kind="invoice", format="TST{year}{number:06d}")
        db.add(series)
        db.flush()
    n = next(_numbers)
    amount = Decimal(total)
    invoice = Invoice(kind=kind, series_id=series.id, year=due.year, sequence=n, number=f"TST{n:07d}-{uuid.uuid4().hex[:6]}",
                      customer_id=customer.id, issued_on=due - timedelta(days=14),
                      taxable_supply_date=due - timedelta(days=14), due_date=due,
                      variable_symbol=customer.variable_symbol, total_base=amount, total_vat=Decimal("0"), total=amount,
                      uuid=str(uuid.uuid4()), payment_method=payment_method)
    db.add(invoice)
    db.flush()
    ledger.post(db, customer_id=customer.id, kind=kind, amount=-amount, booked_on=invoice.issued_on,
                invoice_id=invoice.id)
    db.flush()
    return invoice


def pay(db, customer, amount: str) -> Payment:  # noqa: ANN001
    payment = Payment(dedup_key=f"test:{uuid.uuid4()}", method="bank", received_on=TODAY, amount=Decimal(amount),
                      customer_id=customer.id, state="matched", variable_symbol=customer.variable_symbol)
    db.add(payment)
    db.flush()
    ledger.post(db, customer_id=customer.id, kind="payment", amount=Decimal(amount), booked_on=TODAY,
                payment_id=payment.id)
    db.flush()
    return payment


def make_customer(db, shop, name: str):  # noqa: ANN001, ANN201
    customer = customers.create_customer(db, kind="person", first_name="Jan", last_name=name)
    service = svc.create_service(db, customer_id=customer.id, product_id=shop.product.id,
                                 params={"download": "100"}, start_date=TODAY - timedelta(days=90), activate=True)
    return customer, service


def make_shop(db, location_id: int) -> SimpleNamespace:  # noqa: ANN001
    cls = catalog.create_class(db, name="Internet", kind="other",
                               params=[ParamDef("download", "Download", "integer", required=True, min=1)])
    product = catalog.create_product(db, class_id=cls.id, name="Internet 100", code="NET100", price="500.00",
                                     vat_rate="21", defaults={"download": "100"}, valid_from=date(2020, 1, 1),
                                     location_ids=[location_id])
    return SimpleNamespace(cls=cls, product=product)


@pytest.fixture
def in_a(app, world):  # noqa: ANN001, ANN201
    with app.test_request_context(), location_scope(world.loc_a.id):
        yield world.loc_a


@pytest.fixture
def shop(db, in_a):  # noqa: ANN001, ANN201
    shop = make_shop(db, in_a.id)
    dunning.create_default_steps(db)
    return shop


def _actions(db) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(DunningAction))


def _open_kinds(service) -> set[str]:  # noqa: ANN001
    return {b.kind for b in service.blocks if b.until is None}


def test_dry_run_then_execute_each_step_once(db, shop):
    customer, _service = make_customer(db, shop, "Novák")
    invoice = make_invoice(db, customer, "500.00", TODAY - timedelta(days=8))
    make_invoice(db, customer, "300.00", TODAY + timedelta(days=5))  # not due yet: never dunned
    proposals = dunning.plan(db, TODAY)
    assert [(p.customer_id, p.action, p.step_name) for p in proposals] == [(customer.id, "reminder", "1. upomínka")]
    assert [i.invoice_id for i in proposals[0].invoices] == [invoice.id]
    assert proposals[0].debt == Decimal("500.00")
    assert _actions(db) == 0  # the plan changed nothing

    result = dunning.execute(db, proposals, TODAY)
    assert (result.reminders, result.blocks, result.failed) == (1, 0, [])
    action = db.scalar(select(DunningAction))
    assert action.invoice_id == invoice.id and action.debt == Decimal("500.00")
    assert "archived" in action.detail and "no e-mail address" in action.detail
    letter = db.scalar(select(Document).where(Document.customer_id == customer.id,
                                              Document.kind == dunning.REMINDER_KIND))
    assert letter is not None and letter.size > 1000
    assert db.scalar(select(HistoryEntry).where(HistoryEntry.customer_id == customer.id,
                                                HistoryEntry.action == "dunning_reminder")) is not None

    assert dunning.plan(db, TODAY) == []  # done once
    again = dunning.execute(db, proposals, TODAY)  # a stale list does nothing twice
    assert (again.reminders, again.skipped) == (0, 1)
    assert _actions(db) == 1
    # later the next step comes for this invoice, and the first for the one that fell due meanwhile
    later = dunning.plan(db, TODAY + timedelta(days=14))
    assert sorted((p.step_name, p.invoices[0].invoice_id == invoice.id) for p in later) == [
        ("1. upomínka", False), ("2. upomínka", True)]


def test_block_after_m_days_and_automatic_unblock_on_payment(db, shop, mango, in_a):
    customer, service = make_customer(db, shop, "Dlužník")
    other, other_service = make_customer(db, shop, "Jiný")
    make_invoice(db, customer, "500.00", TODAY - timedelta(days=35))
    lifecycle.block(db, service, "manual", reason="staff")  # a manual block stays whatever happens
    proposals = dunning.plan(db, TODAY)
    assert [(p.customer_id, p.action) for p in proposals] == [(customer.id, "block")]
    _proposals, result = dunning.run(db, TODAY)
    assert result.blocks == 1
    db.refresh(service)
    assert _open_kinds(service) == {"manual", "debt"} and service.state == "blocked"
    assert _open_kinds(other_service) == set()

    partial = pay(db, customer, "200.00")
    mango.plugins.emit("mango_payments_matched", location_id=in_a.id, session=db, payment_ids=[partial.id])
    db.refresh(service)
    assert "debt" in _open_kinds(service)  # 300 still overdue past the block step

    rest = pay(db, customer, "300.00")
    mango.plugins.emit("mango_payments_matched", location_id=in_a.id, session=db, payment_ids=[rest.id])
    db.refresh(service)
    assert _open_kinds(service) == {"manual"} and service.state == "blocked"
    fee = db.scalar(select(Charge).where(Charge.customer_id == customer.id))
    assert fee is not None and fee.unit_price == Decimal("200.00") and fee.invoice_id is None
    assert db.scalar(select(HistoryEntry).where(HistoryEntry.customer_id == customer.id,
                                                HistoryEntry.action == "dunning_unblocked")) is not None
    # a second event for the same payment neither unblocks nor charges again
    mango.plugins.emit("mango_payments_matched", location_id=in_a.id, session=db, payment_ids=[rest.id])
    assert db.scalar(select(func.count()).select_from(Charge).where(Charge.customer_id == customer.id)) == 1


def test_credit_note_lifts_the_debt_block(db, shop, mango, in_a):
    customer, service = make_customer(db, shop, "Dobropis")
    invoice = make_invoice(db, customer, "400.00", TODAY - timedelta(days=40))
    dunning.run(db, TODAY)
    db.refresh(service)
    assert _open_kinds(service) == {"debt"}
    note = make_invoice(db, customer, "-400.00", TODAY, kind="credit_note")
    assert ledger.balance(db, customer.id) == Decimal("0.00") and note.total < 0 and invoice.total > 0
    mango.plugins.emit("mango_invoices_issued", location_id=in_a.id, session=db, invoice_ids=[note.id])
    db.refresh(service)
    assert _open_kinds(service) == set() and service.state == "active"


def test_never_block_customer_gets_reminders_but_no_block(db, shop):
    customer, service = make_customer(db, shop, "Nemocnice")
    dunning.set_never_block(db, customer, True, reason="hospital")
    make_invoice(db, customer, "900.00", TODAY - timedelta(days=35))
    proposals = dunning.plan(db, TODAY)
    assert [(p.action, p.step_name) for p in proposals] == [("reminder", "2. upomínka")]
    dunning.execute(db, proposals, TODAY)
    assert dunning.plan(db, TODAY + timedelta(days=5)) == []
    db.refresh(service)
    assert _open_kinds(service) == set()
    # the termination proposal still reaches staff
    assert [p.action for p in dunning.plan(db, TODAY + timedelta(days=30))] == ["termination_proposal"]


def test_disputed_invoice_is_left_alone_until_resolved(db, shop):
    customer, _service = make_customer(db, shop, "Sporný")
    invoice = make_invoice(db, customer, "500.00", TODAY - timedelta(days=10))
    dispute = dunning.open_dispute(db, invoice, "wrong tariff")
    assert dunning.plan(db, TODAY) == []
    with pytest.raises(dunning.DunningError):
        dunning.open_dispute(db, invoice, "again")
    dunning.resolve_dispute(db, dispute)
    assert [p.action for p in dunning.plan(db, TODAY)] == ["reminder"]


def test_minimum_debt_and_overpayment(db, shop):
    customer, _service = make_customer(db, shop, "Drobný")
    for step in dunning.steps(db):
        step.minimum_debt = Decimal("100.00")
    make_invoice(db, customer, "50.00", TODAY - timedelta(days=10))
    assert dunning.plan(db, TODAY) == []
    make_invoice(db, customer, "80.00", TODAY - timedelta(days=9))
    assert [p.amount for p in dunning.plan(db, TODAY)] == [Decimal("130.00")]
    pay(db, customer, "500.00")  # an overpayment pays both; nothing to dun
    assert dunning.plan(db, TODAY) == []


def test_termination_proposal_list(db, shop):
    customer, service = make_customer(db, shop, "Konec")
    make_invoice(db, customer, "500.00", TODAY - timedelta(days=61))
    _proposals, result = dunning.run(db, TODAY)
    assert result.terminations == 1
    rows = dunning.termination_proposals(db)
    assert [r["customer_id"] for r in rows] == [customer.id]
    db.refresh(service)
    assert service.state != "terminated"  # only a proposal


def test_steps_are_validated(db, in_a):
    with pytest.raises(dunning.DunningError, match="days"):
        dunning.save_step(db, position=1, days="x", action="reminder", name="R")
    with pytest.raises(dunning.DunningError, match="action"):
        dunning.save_step(db, position=1, days=3, action="shout", name="R")
    with pytest.raises(dunning.DunningError, match="fee"):
        dunning.save_step(db, position=1, days=3, action="reminder", name="R", fee="1.234")
    step = dunning.save_step(db, position=1, days=3, action="reminder", name="R", fee="1 234,50")
    assert step.fee == Decimal("1234.50")
    with pytest.raises(dunning.DunningError, match="position"):
        dunning.save_step(db, position=1, days=5, action="block", name="B")


def test_cli_dry_run_and_run(app, db, world, shop):
    customer, _service = make_customer(db, shop, "Příkazový")
    make_invoice(db, customer, "500.00", TODAY - timedelta(days=8))
    db.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(main, ["billing", "dunning", "--location", "PRG", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1. upomínka" in dry.output and "dry run" in dry.output
    with location_scope(world.loc_a.id):
        assert _actions(db) == 0
    done = runner.invoke(main, ["billing", "dunning", "--location", "PRG"])
    assert done.exit_code == 0, done.output
    assert "1 reminders" in done.output
    with location_scope(world.loc_a.id):
        db.expire_all()
        assert _actions(db) == 1
    bad = runner.invoke(main, ["billing", "dunning", "--location", "NOPE"])
    assert bad.exit_code != 0 and "NOPE" in bad.output


@given(st.one_of(st.text(max_size=20), st.floats(allow_nan=True), st.integers(), st.none(),
                 st.decimals(allow_nan=True, allow_infinity=True, places=4)))
def test_garbage_fees_raise_dunning_error_only(value):
    try:
        result = dunning.money(value, "fee")
    except dunning.DunningError as exc:
        assert exc.field == "fee"
    else:
        assert result >= 0 and result == result.quantize(Decimal("0.01"))
