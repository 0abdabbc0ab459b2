"""The ledger's rules hold in the database itself (billing_0005 made the unique rules partial indexes)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mango_billing import ledger
from mango_billing.models import Payment
from mango_core.customers import service as customers
from mango_core.tenancy.context import location_scope


@pytest.fixture
def paid(app, db, world):  # noqa: ANN001, ANN201
    with app.test_request_context(), location_scope(world.loc_a.id):
        customer = customers.create_customer(db, kind="person", first_name="Jan", last_name="Účetní")
        payment = Payment(dedup_key=f"test:{uuid.uuid4()}", method="bank", received_on=date(2026, 1, 5),
                          amount=Decimal("100.00"), customer_id=customer.id, state="matched")
        db.add(payment)
        db.flush()
        ledger.post(db, customer_id=customer.id, kind="payment", amount=Decimal("100.00"),
                    booked_on=date(2026, 1, 5), payment_id=payment.id)
        db.flush()
        yield customer, payment


def test_a_payment_is_booked_once_per_account_and_kind(db, paid):  # noqa: ANN001
    customer, payment = paid
    nested = db.begin_nested()
    with pytest.raises(IntegrityError):
        ledger.post(db, customer_id=customer.id, kind="payment", amount=Decimal("100.00"),
                    booked_on=date(2026, 1, 5), payment_id=payment.id)
        db.flush()
    nested.rollback()
    # the same payment in the other account (a uniCredit top-up) is another entry
    ledger.post(db, customer_id=customer.id, account="prepaid", kind="payment", amount=Decimal("100.00"),
                booked_on=date(2026, 1, 5), payment_id=payment.id)
    # entries with neither reference (adjustments) are not limited by either rule
    for _ in range(2):
        ledger.post(db, customer_id=customer.id, kind="adjustment", amount=Decimal("1.00"), booked_on=date(2026, 1, 5))
    db.flush()
    assert ledger.balance(db, customer.id) == Decimal("102.00")


@pytest.mark.parametrize("statement", ["UPDATE billing_ledger SET amount = 0", "DELETE FROM billing_ledger"])
def test_the_ledger_stays_append_only_after_the_rebuild(db, paid, statement):  # noqa: ANN001
    nested = db.begin_nested()
    with pytest.raises(Exception, match="append-only"):
        db.execute(text(statement))
    nested.rollback()
