"""Payments recorded by people: cash, card or bank by hand; pairing, ignoring and refunding.

Every function works in the caller's transaction and location scope, logs a :class:`PaymentEvent`
(who, when, what) and emits ``mango_payments_matched`` when it matched something. Amounts are
``Decimal`` with at most two places; nothing is rounded here (a cash desk rounds before it calls).

Idempotency of manual payments: the caller passes a key (the form's hidden one-time key); it becomes
the payment's ``dedup_key`` (``manual:<key>``), so a double submit finds the first payment instead
of creating a second one.

A payment carrying the variable symbol of one of the customer's open advance invoices (recorded by
hand or paired) goes to the ``advance`` account and is recorded on that advance
(:mod:`mango_billing.advances`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_billing import advances
from mango_billing.models import Payment
from mango_billing.payments.matching import PREPAID, RECEIVABLE, book, emit_matched
from mango_billing.payments.models import PaymentEvent
from mango_core.customers.models import Customer
from mango_core.db import utcnow

MANUAL_METHODS = ("cash", "card", "bank")
CENT = Decimal("0.01")


class PaymentError(ValueError):
    """A payment action that cannot be done; the message says why (shown to the user)."""


def _amount(value: object, *, allow_negative: bool = False) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise PaymentError("an amount is a decimal number, not a float")
    try:
        amount = Decimal(str(value).strip().replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise PaymentError(f"{value!r:.30} is not an amount") from None
    if not amount.is_finite():
        raise PaymentError(f"{value!r:.30} is not an amount")
    # the size first: quantize() itself fails on numbers this large
    if abs(amount) >= Decimal("1e13"):
        raise PaymentError("the amount is too large")
    if amount != amount.quantize(CENT):
        raise PaymentError(f"an amount has at most two decimal places, not {value!r:.30}")
    if amount == 0 or (amount < 0 and not allow_negative):
        raise PaymentError("the amount must be greater than zero")
    return amount.quantize(CENT)


def log(session: Session, payment: Payment, action: str, actor_id: int | None, detail: str | None = None
        ) -> PaymentEvent:
    event = PaymentEvent(payment_id=payment.id, action=action, customer_id=payment.customer_id, user_id=actor_id,
                         detail=detail)
    session.add(event)
    return event


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise PaymentError(f"customer #{customer_id} does not exist in this location")
    return customer


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    created: bool  # False: the idempotency key was used before, ``payment`` is the first one


def record_payment(session: Session, *, location_id: int, customer_id: int, amount: object, method: str,
                   received_on: date, idempotency_key: str, actor_id: int | None, target: str = RECEIVABLE,
                   variable_symbol: str | None = None, note: str | None = None) -> Recorded:
    """A payment taken by hand (cash, card, or a bank transfer entered by hand), matched at once."""
    if method not in MANUAL_METHODS:
        raise PaymentError(f"method must be one of {', '.join(MANUAL_METHODS)}")
    if target not in (RECEIVABLE, PREPAID):
        raise PaymentError("target must be 'receivable' or 'prepaid'")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 90:
        raise PaymentError("an idempotency key (1-90 characters) is required")
    value = _amount(amount)
    dedup = f"manual:{key}"
    existing = session.scalar(select(Payment).where(Payment.dedup_key == dedup))
    if existing is not None:
        return Recorded(existing, False)
    _customer(session, customer_id)
    if target == RECEIVABLE:
        # the variable symbol of an open advance of the customer: the money is held for that advance
        target = advances.target_for(session, customer_id, variable_symbol) or target
    payment = Payment(dedup_key=dedup, method=method, received_on=received_on, amount=value,
                      variable_symbol=(variable_symbol or None), message=(note or None) and note[:300],
                      state="unmatched", created_by_id=actor_id)
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        # a concurrent double submit won the race: answer with its payment
        existing = session.scalar(select(Payment).where(Payment.dedup_key == dedup))
        if existing is None:
            raise
        return Recorded(existing, False)
    book(session, payment, customer_id, target, actor_id=actor_id)
    log(session, payment, "recorded", actor_id, f"{method} {value}")
    session.flush()
    emit_matched(session, location_id, [payment.id])
    return Recorded(payment, True)


def _open_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise PaymentError(f"payment #{payment_id} does not exist in this location")
    if payment.state != "unmatched" and not (payment.state == "ignored" and payment.amount < 0):
        raise PaymentError(f"payment #{payment_id} is already {payment.state}")
    return payment


def pair(session: Session, *, location_id: int, payment_id: int, customer_id: int, actor_id: int | None,
         target: str = RECEIVABLE) -> Payment:
    """Match an unmatched payment (or an outgoing one, as a refund) to a customer by hand."""
    payment = _open_payment(session, payment_id)
    if target not in (RECEIVABLE, PREPAID):
        raise PaymentError("target must be 'receivable' or 'prepaid'")
    customer = _customer(session, customer_id)
    if target == RECEIVABLE and payment.amount > 0:
        target = advances.target_for(session, customer.id, payment.variable_symbol) or target
    book(session, payment, customer.id, target, actor_id=actor_id)
    log(session, payment, "paired", actor_id, f"{customer.number} {customer.display_name}"[:300])
    session.flush()
    emit_matched(session, location_id, [payment.id])
    return payment


def ignore(session: Session, *, payment_id: int, actor_id: int | None, reason: str = "") -> Payment:
    """Not customer money (a supplier's refund, interest…): off the pairing screen, kept for audit."""
    payment = _open_payment(session, payment_id)
    payment.state = "ignored"
    payment.matched_at = utcnow()
    payment.matched_by_id = actor_id
    log(session, payment, "ignored", actor_id, reason.strip()[:300] or None)
    session.flush()
    return payment


def refund_unmatched(session: Session, *, payment_id: int, actor_id: int | None, reason: str = "") -> Payment:
    """Send an unidentifiable payment back to its sender (the bank order itself is made outside Mango).

    The money never reached a customer's ledger, so there is no ledger entry; the outgoing bank
    movement of the refund is later imported as ``ignored``.
    """
    payment = _open_payment(session, payment_id)
    if payment.amount <= 0:
        raise PaymentError("only incoming money can be refunded")
    payment.state = "refunded"
    payment.matched_at = utcnow()
    payment.matched_by_id = actor_id
    log(session, payment, "refunded", actor_id, reason.strip()[:300] or None)
    session.flush()
    return payment


def refund_credit(session: Session, *, location_id: int, customer_id: int, amount: object, method: str,
                  paid_on: date, idempotency_key: str, actor_id: int | None, target: str = RECEIVABLE) -> Recorded:
    """Pay a customer's credit (overpayment, or uniCredit left over) back: a negative payment.

    Booked as ledger kind ``refund`` (``return`` in the prepaid account).
    """
    value = _amount(amount)
    key = f"refund:{(idempotency_key or '').strip()}"
    if key == "refund:" or len(key) > 100:
        raise PaymentError("an idempotency key (1-90 characters) is required")
    existing = session.scalar(select(Payment).where(Payment.dedup_key == key))
    if existing is not None:
        return Recorded(existing, False)
    if method not in MANUAL_METHODS:
        raise PaymentError(f"method must be one of {', '.join(MANUAL_METHODS)}")
    _customer(session, customer_id)
    payment = Payment(dedup_key=key, method=method, received_on=paid_on, amount=-value, state="unmatched",
                      created_by_id=actor_id)
    session.add(payment)
    session.flush()
    book(session, payment, customer_id, target, actor_id=actor_id)
    log(session, payment, "refunded", actor_id, f"{method} {value}")
    session.flush()
    emit_matched(session, location_id, [payment.id])
    return Recorded(payment, True)


def events(session: Session, payment_id: int) -> list[PaymentEvent]:
    return list(session.scalars(select(PaymentEvent).where(PaymentEvent.payment_id == payment_id)
                                .order_by(PaymentEvent.id)))
