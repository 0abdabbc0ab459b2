"""uniCredit: symbol, draw on issue, short credit → block → top-up → unblock, bank top-ups, return of the rest."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from test_billing_dunning_flow import make_invoice, make_shop

from mango_billing import ledger, prepaid
from mango_billing.models import BillingProfile, LedgerEntry, Payment
from mango_core.customers import service as customers
from mango_core.services import lifecycle
from mango_core.services import service as svc
from mango_core.tenancy import location_scope

TODAY = date.today()
PREPAID_PLAN = {"plan_id": None, "payment_method": "prepaid"}


@pytest.fixture
def in_a(app, world):  # noqa: ANN001, ANN201
    with app.test_request_context(), location_scope(world.loc_a.id):
        yield world.loc_a


@pytest.fixture
def setup(db, in_a):  # noqa: ANN001, ANN201
    shop = make_shop(db, in_a.id)
    customer = customers.create_customer(db, kind="person", first_name="Petra", last_name="Předplacená")
    service = svc.create_service(db, customer_id=customer.id, product_id=shop.product.id, params={"download": "100"},
                                 start_date=TODAY - timedelta(days=60), activate=True)
    lifecycle.change_billing_plan(db, service, PREPAID_PLAN)
    return customer, service


def _issue(db, mango, location, customer, total: str):  # noqa: ANN001, ANN201
    invoice = make_invoice(db, customer, total, TODAY + timedelta(days=14), payment_method="prepaid")
    mango.plugins.emit("mango_invoices_issued", location_id=location.id, session=db, invoice_ids=[invoice.id])
    return invoice


def _open_kinds(service) -> set[str]:  # noqa: ANN001
    return {b.kind for b in service.blocks if b.until is None}


def test_prepaid_symbol_is_distinct_and_stable(db, setup):
    customer, _service = setup
    other = customers.create_customer(db, kind="person", first_name="Eva", last_name="Jiná")
    first = prepaid.ensure_prepaid_symbol(db, customer)
    assert first == prepaid.ensure_prepaid_symbol(db, customer)
    second = prepaid.ensure_prepaid_symbol(db, other)
    assert first != second and len(first) == 10 and first.isdigit()
    assert first not in {customer.variable_symbol, other.variable_symbol}
    assert prepaid.customer_by_symbol(db, first) == customer.id


def test_invoice_is_paid_from_credit(db, mango, in_a, setup):
    customer, service = setup
    prepaid.topup(db, customer, "1000.00", "cash")
    invoice = _issue(db, mango, in_a, customer, "500.00")
    assert prepaid.balance(db, customer.id) == Decimal("500.00")
    assert ledger.balance(db, customer.id) == Decimal("0.00")
    assert ledger.open_items(db, customer.id) == []
    draws = db.scalars(select(LedgerEntry).where(LedgerEntry.invoice_id == invoice.id, LedgerEntry.kind == "draw"))
    assert sorted((e.account, e.amount) for e in draws) == [("prepaid", Decimal("-500.00")),
                                                          ("receivable", Decimal("500.00"))]
    # the event again draws nothing twice
    mango.plugins.emit("mango_invoices_issued", location_id=in_a.id, session=db, invoice_ids=[invoice.id])
    assert prepaid.balance(db, customer.id) == Decimal("500.00")
    assert _open_kinds(service) == set()


def test_short_credit_blocks_then_topup_unblocks(db, mango, in_a, setup):
    customer, service = setup
    prepaid.topup(db, customer, "100.00", "card")
    invoice = _issue(db, mango, in_a, customer, "500.00")
    db.refresh(service)
    assert _open_kinds(service) == {"prepaid"} and service.state == "blocked"
    assert prepaid.balance(db, customer.id) == Decimal("100.00")  # nothing drawn: the invoice stays open
    assert [i.invoice_id for i in ledger.open_items(db, customer.id)] == [invoice.id]
    lifecycle.block(db, service, "manual", reason="staff")

    prepaid.topup(db, customer, "300.00", "cash")  # still short
    db.refresh(service)
    assert "prepaid" in _open_kinds(service)
    prepaid.topup(db, customer, "100.00", "cash")
    db.refresh(service)
    assert _open_kinds(service) == {"manual"}  # only the prepaid block is lifted
    assert prepaid.balance(db, customer.id) == Decimal("0.00")
    assert ledger.open_items(db, customer.id) == []


def test_bank_topup_by_prepaid_symbol_settles_at_once(db, mango, in_a, setup):
    customer, service = setup
    symbol = prepaid.ensure_prepaid_symbol(db, customer)
    _issue(db, mango, in_a, customer, "500.00")
    db.refresh(service)
    assert _open_kinds(service) == {"prepaid"}
    # what the import does: a payment with the prepaid symbol, target prepaid, a top-up entry
    payment = Payment(dedup_key=f"bank:{uuid.uuid4()}", method="bank", received_on=TODAY, amount=Decimal("600.00"),
                      variable_symbol=symbol, customer_id=customer.id, state="matched", target="prepaid")
    db.add(payment)
    db.flush()
    prepaid.topup(db, customer, Decimal("600.00"), "bank", payment.id)
    prepaid.topup(db, customer, Decimal("600.00"), "bank", payment.id)  # idempotent
    mango.plugins.emit("mango_payments_matched", location_id=in_a.id, session=db, payment_ids=[payment.id])
    db.refresh(service)
    assert _open_kinds(service) == set()
    assert prepaid.balance(db, customer.id) == Decimal("100.00")
    assert ledger.balance(db, customer.id) == Decimal("0.00")


def test_matched_payment_without_entry_is_booked_once(db, mango, in_a, setup):
    customer, _service = setup
    payment = Payment(dedup_key=f"bank:{uuid.uuid4()}", method="bank", received_on=TODAY, amount=Decimal("250.00"),
                      customer_id=customer.id, state="matched", target="prepaid")
    db.add(payment)
    db.flush()
    for _ in range(2):
        mango.plugins.emit("mango_payments_matched", location_id=in_a.id, session=db, payment_ids=[payment.id])
    assert prepaid.balance(db, customer.id) == Decimal("250.00")


def _returns(db, customer) -> list[Payment]:  # noqa: ANN001
    return list(db.scalars(select(Payment).where(Payment.customer_id == customer.id, Payment.state == "refunded")))


def test_refund_of_the_rest_when_the_service_ends(db, setup):
    customer, service = setup
    prepaid.topup(db, customer, "700.00", "cash")
    with pytest.raises(prepaid.PrepaidError, match="prepaid service"):
        prepaid.refund_remaining(db, customer)
    lifecycle.terminate(db, service, effective=TODAY, reason="moving away")  # the rest goes back at once
    [payment] = _returns(db, customer)
    assert payment.amount == Decimal("-700.00") and payment.method == "bank_transfer"
    assert prepaid.balance(db, customer.id) == Decimal("0.00")
    entry = db.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == payment.id))
    assert (entry.account, entry.kind, entry.amount) == ("prepaid", "return", Decimal("-700.00"))
    assert prepaid.refund_remaining(db, customer) is None  # nothing left


def test_staff_return_the_rest_by_hand(db, setup):
    customer, service = setup
    lifecycle.terminate(db, service, effective=TODAY, reason="moving away")
    assert _returns(db, customer) == []  # no credit, nothing to return
    prepaid.topup(db, customer, "120.00", "cash")  # e.g. a late top-up
    payment = prepaid.refund_remaining(db, customer, method="cash", reason="at the counter")
    assert (payment.amount, payment.method) == (Decimal("-120.00"), "cash")


def test_nothing_goes_back_while_a_prepaid_service_or_invoice_is_left(db, mango, in_a, setup):
    customer, service = setup
    shop_product = service.product_id
    second = svc.create_service(db, customer_id=customer.id, product_id=shop_product, params={"download": "100"},
                                start_date=TODAY - timedelta(days=60), activate=True)
    lifecycle.change_billing_plan(db, second, PREPAID_PLAN)
    prepaid.topup(db, customer, "300.00", "cash")
    lifecycle.terminate(db, service, effective=TODAY, reason="one of two")
    assert _returns(db, customer) == [] and prepaid.balance(db, customer.id) == Decimal("300.00")
    _issue(db, mango, in_a, customer, "500.00")  # short: stays open, the credit stays
    lifecycle.terminate(db, second, effective=TODAY, reason="the last one")
    assert _returns(db, customer) == [] and prepaid.balance(db, customer.id) == Decimal("300.00")


def test_draw_beyond_credit_is_refused(db, setup):
    customer, _service = setup
    invoice = make_invoice(db, customer, "50.00", TODAY, payment_method="prepaid")
    with pytest.raises(prepaid.PrepaidError, match="does not cover"):
        prepaid.draw(db, customer.id, Decimal("50.00"), invoice_id=invoice.id, on=TODAY)
    assert db.scalar(select(LedgerEntry).where(LedgerEntry.kind == "draw")) is None


def test_topup_input_is_checked(db, setup):
    customer, _service = setup
    with pytest.raises(prepaid.PrepaidError, match="method"):
        prepaid.topup(db, customer, "10", "bitcoin")
    with pytest.raises(prepaid.PrepaidError, match="amount"):
        prepaid.topup(db, customer, 10.5, "cash")
    assert db.scalar(select(BillingProfile.prepaid_symbol).where(BillingProfile.customer_id == customer.id)) is None


@given(st.one_of(st.text(max_size=20), st.floats(allow_nan=True), st.integers(max_value=0), st.none(),
                 st.decimals(allow_nan=True, allow_infinity=True, places=4)))
def test_garbage_amounts_raise_prepaid_error_only(value):
    try:
        result = prepaid.amount_of(value)
    except prepaid.PrepaidError as exc:
        assert "amount" in str(exc)
    else:
        assert result > 0 and result == result.quantize(Decimal("0.01"))
