"""uniCredit: prepaid credit per customer (ledger account ``prepaid``).

Movements (amounts from the customer's side, like every ledger entry):

* **top-up** ``prepaid +X`` — a bank payment with the customer's ``prepaid_symbol`` (the import
  marks it target ``prepaid`` and books the entry), or cash/card through :func:`topup`;
* **draw** ``prepaid −X`` and ``receivable +X`` with the invoice's id — credit pays an issued
  invoice of services whose payment method is ``prepaid``. Both sides are booked, so the sum
  over both accounts does not change: money moves, nothing is created or lost. A draw is
  all-or-nothing per invoice (one draw entry per invoice and account) and never makes the
  credit negative (:class:`PrepaidError`);
* **return** ``prepaid −X`` — the rest paid back when the customer's prepaid services end
  (:func:`refund_remaining`, with a refund :class:`Payment` for staff to pay out): at once when
  the termination of the last one takes effect (:func:`on_service_ended`), or by staff.

When the credit is short for an invoice, the customer's prepaid services get a lifecycle block
of kind ``prepaid`` and the invoice stays open; :func:`settle` (called when credit arrives)
draws for open prepaid invoices, oldest due first, and lifts the block at once when none is
left unpaid.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_billing import ledger
from mango_billing.models import BillingPlan, BillingProfile, Invoice, InvoiceLine, LedgerEntry, Payment
from mango_core import history
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.services import lifecycle
from mango_core.services.models import ACTIVE, BLOCKED, PENDING, PREPAID, Service

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
TOPUP_METHODS = ("bank", "bank_transfer", "cash", "card")
REFUND_METHODS = ("bank_transfer", "cash")
PREPAID_METHOD = "prepaid"
SYMBOL_PREFIX = "9"  # prepaid symbols are 10 digits starting with 9: apart from the usual customer numbers


class PrepaidError(ValueError):
    """Bad prepaid input or a movement that would be wrong (e.g. a draw beyond the credit)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def amount_of(value: Any, name: str = "amount") -> Decimal:
    """A positive amount with at most 2 decimal places (``1 234,50`` accepted); floats are refused."""
    if isinstance(value, float | bool):
        raise PrepaidError(f"{name}: an amount is a decimal number, not {type(value).__name__}", name)
    text = str(value if value is not None else "").strip().replace(" ", "").replace("\xa0", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise PrepaidError(f"{name}: expected an amount like 500.00, got {value!r}", name) from exc
    # the size check comes before quantize, which fails on huge numbers
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("1e12") or amount != amount.quantize(CENT):
        raise PrepaidError(f"{name}: expected an amount > 0 with at most 2 decimal places, got {value!r}", name)
    return amount.quantize(CENT)


def balance(session: Session, customer_id: int) -> Decimal:
    return ledger.balance(session, customer_id, "prepaid")


# --- the symbol ---------------------------------------------------------------------------------


def _profile(session: Session, customer_id: int) -> BillingProfile:
    found = session.scalar(select(BillingProfile).where(BillingProfile.customer_id == customer_id))
    if found is None:
        found = BillingProfile(customer_id=customer_id)
        session.add(found)
        session.flush()
    return found


def _symbol_taken(session: Session, symbol: str) -> bool:
    checks = (select(Customer.id).where(Customer.variable_symbol == symbol),
              select(BillingProfile.id).where(BillingProfile.prepaid_symbol == symbol),
              select(Invoice.id).where(Invoice.variable_symbol == symbol))
    return any(session.scalar(stmt.limit(1)) is not None for stmt in checks)


def ensure_prepaid_symbol(session: Session, customer: Customer) -> str:
    """The customer's top-up variable symbol; assigned once, distinct from every customer's and invoice's VS."""
    prof = _profile(session, customer.id)
    if prof.prepaid_symbol:
        return prof.prepaid_symbol
    candidate = int(f"{SYMBOL_PREFIX}{customer.number:09d}"[-10:])
    while _symbol_taken(session, str(candidate)):
        candidate += 1
        if candidate > 9_999_999_999:
            raise PrepaidError("no free prepaid variable symbol is left", "prepaid_symbol")
    prof.prepaid_symbol = str(candidate)
    session.flush()
    history.record(session, entity="customer", entity_id=customer.id, customer_id=customer.id,
                   action="billing_changed", changes={"prepaid_symbol": (None, prof.prepaid_symbol)})
    return prof.prepaid_symbol


def customer_by_symbol(session: Session, symbol: str) -> int | None:
    """The customer whose prepaid symbol this is (for the payment import's matching)."""
    return session.scalar(select(BillingProfile.customer_id).where(BillingProfile.prepaid_symbol == symbol.strip()))


# --- services paid from credit ------------------------------------------------------------------


def payment_method_of(session: Session, service: Service) -> str | None:
    """The service's payment method: its own ``billing_plan`` JSON, else the named plan's default."""
    plan = service.billing_plan
    if not isinstance(plan, dict):
        return None
    method = plan.get("payment_method")
    if method:
        return str(method)
    plan_id = plan.get("plan_id")
    if isinstance(plan_id, int):
        found = session.get(BillingPlan, plan_id)
        return found.payment_method if found is not None else None
    return None


def prepaid_services(session: Session, customer_id: int, *, live_only: bool = False) -> list[Service]:
    states = (ACTIVE, BLOCKED) if live_only else (PENDING, ACTIVE, BLOCKED)
    rows = session.scalars(select(Service).where(Service.customer_id == customer_id, Service.state.in_(states))
                           .order_by(Service.id))
    return [s for s in rows if payment_method_of(session, s) == PREPAID_METHOD]


def prepaid_part(session: Session, invoice: Invoice) -> Decimal:
    """How much of the invoice credit pays: all of a ``prepaid`` invoice, else its prepaid services' lines."""
    if invoice.kind != "invoice" or invoice.total <= 0:
        return ZERO
    if invoice.payment_method == PREPAID_METHOD:
        return invoice.total
    ids = {s.id for s in session.scalars(select(Service).where(Service.customer_id == invoice.customer_id))
           if payment_method_of(session, s) == PREPAID_METHOD}
    if not ids:
        return ZERO
    lines = session.scalars(select(InvoiceLine.total).where(InvoiceLine.invoice_id == invoice.id,
                                                            InvoiceLine.service_id.in_(ids)))
    return max(ZERO, min(invoice.total, sum(lines, ZERO)))


def _drawn(session: Session, invoice_id: int) -> bool:
    return session.scalar(select(LedgerEntry.id).where(LedgerEntry.account == "prepaid", LedgerEntry.kind == "draw",
                                                       LedgerEntry.invoice_id == invoice_id)) is not None


def _unpaid(session: Session, invoice: Invoice) -> Decimal:
    return next((i.unpaid for i in ledger.open_items(session, invoice.customer_id) if i.invoice_id == invoice.id),
                ZERO)


def draw(session: Session, customer_id: int, amount: Decimal, *, invoice_id: int, on: date,
         actor: int | None = None) -> None:
    """Move ``amount`` from the credit to the receivable for ``invoice_id``; refused beyond the credit."""
    amount = amount_of(amount)
    available = balance(session, customer_id)
    if amount > available:
        raise PrepaidError(f"the credit {available} does not cover {amount}", "amount")
    if _drawn(session, invoice_id):
        raise PrepaidError(f"invoice {invoice_id} was paid from credit already", "invoice")
    ledger.post(session, customer_id=customer_id, account="prepaid", kind="draw", amount=-amount, booked_on=on,
                invoice_id=invoice_id, actor_id=actor, note="uniCredit")
    ledger.post(session, customer_id=customer_id, account="receivable", kind="draw", amount=amount, booked_on=on,
                invoice_id=invoice_id, actor_id=actor, note="uniCredit")
    session.flush()


@dataclass
class SettleResult:
    drawn: list[int] = field(default_factory=list)  # invoice ids paid from credit
    short: list[int] = field(default_factory=list)  # invoice ids left open
    blocked: list[int] = field(default_factory=list)  # service ids
    unblocked: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{len(self.drawn)} paid from credit, {len(self.short)} short, {len(self.blocked)} services blocked, "
                f"{len(self.unblocked)} unblocked")


def _waiting(session: Session, customer_id: int) -> list[tuple[Invoice, Decimal]]:
    """Open invoices of the customer with a prepaid part not drawn yet, oldest due first."""
    result = []
    for item in ledger.open_items(session, customer_id):
        invoice = session.get(Invoice, item.invoice_id)
        if invoice is None or _drawn(session, invoice.id):
            continue
        part = min(prepaid_part(session, invoice), item.unpaid)
        if part > 0:
            result.append((invoice, part))
    return result


def settle(session: Session, customer_id: int, on: date | None = None, *, actor: int | None = None,
           result: SettleResult | None = None) -> SettleResult:
    """Pay the customer's open prepaid invoices from credit as far as it goes; block or unblock to match."""
    on = on or date.today()
    result = result or SettleResult()
    for invoice, part in _waiting(session, customer_id):
        if part <= balance(session, customer_id):
            draw(session, customer_id, part, invoice_id=invoice.id, on=on, actor=actor)
            history.record(session, entity="invoice", entity_id=invoice.id, customer_id=customer_id,
                           action="prepaid_drawn", changes={"prepaid": (None, part)},
                           reason=f"{invoice.number}: paid from uniCredit", user_id=actor)
            result.drawn.append(invoice.id)
        else:
            result.short.append(invoice.id)
    if _waiting(session, customer_id):
        result.blocked += _block(session, customer_id, on, actor)
    else:
        result.unblocked += _unblock(session, customer_id, on, actor)
    if result.drawn:
        from mango_billing import dunning

        dunning.lift_debt_blocks(session, [customer_id], on, actor=actor)
    return result


def _block(session: Session, customer_id: int, on: date, actor: int | None) -> list[int]:
    done = []
    for service in prepaid_services(session, customer_id, live_only=True):
        if any(b.kind == PREPAID and b.until is None for b in service.blocks) or service.start_date > on:
            continue
        lifecycle.block(session, service, PREPAID, effective=on, actor=actor,
                        reason="Nedostatečný kredit uniCredit")
        done.append(service.id)
    return done


def _unblock(session: Session, customer_id: int, on: date, actor: int | None) -> list[int]:
    done = []
    for service in prepaid_services(session, customer_id, live_only=True):
        open_ = [b for b in service.blocks if b.kind == PREPAID and b.until is None]
        if not open_:
            continue
        lifecycle.unblock(session, service, PREPAID, effective=max(on, max(b.since for b in open_)), actor=actor,
                          reason="Kredit uniCredit doplněn")
        done.append(service.id)
    return done


def on_invoices_issued(session: Session, invoice_ids: list[int], on: date | None = None) -> SettleResult:
    """Draw for newly issued invoices of prepaid services (the ``mango_invoices_issued`` reaction).

    A billing run emits this once per batch of thousands of invoices, nearly all without anything
    prepaid: two queries per batch (the invoices' customers, then only those of their live services
    that name a plan or a method) find the few customers to settle — those with a ``prepaid``
    invoice or a service paid from credit (:func:`payment_method_of`) — and only they cost more.
    """
    from mango_billing.invoices import in_ids

    result = SettleResult()
    candidates: set[int] = set()
    by_plan: dict[int, set[int]] = {}  # plan id → customers whose services take their method from it
    live = Service.state.in_((PENDING, ACTIVE, BLOCKED))
    for chunk_start in range(0, len(invoice_ids), 5000):
        chunk = invoice_ids[chunk_start:chunk_start + 5000]
        customers: set[int] = set()
        for customer_id, method in session.execute(select(Invoice.customer_id, Invoice.payment_method)
                                                   .where(in_ids(session, Invoice.id, chunk),
                                                          Invoice.kind == "invoice")):
            (candidates if method == PREPAID_METHOD else customers).add(customer_id)
        if not customers:
            continue
        for customer_id, plan in session.execute(select(Service.customer_id, Service.billing_plan)
                                                 .where(in_ids(session, Service.customer_id, customers), live,
                                                        Service.billing_plan.is_not(None))):
            if not isinstance(plan, dict):
                continue
            if plan.get("payment_method"):
                if plan["payment_method"] == PREPAID_METHOD:
                    candidates.add(customer_id)
            elif isinstance(plan.get("plan_id"), int):
                by_plan.setdefault(plan["plan_id"], set()).add(customer_id)
    if by_plan:
        prepaid_plans = session.scalars(select(BillingPlan.id).where(BillingPlan.id.in_(list(by_plan)),
                                                                     BillingPlan.payment_method == PREPAID_METHOD))
        for plan_id in prepaid_plans:
            candidates |= by_plan[plan_id]
    for customer_id in sorted(candidates):
        settle(session, customer_id, on, result=result)
    return result


def settle_all(session: Session, on: date | None = None) -> SettleResult:
    """Settle every customer who has credit and owes (the hourly safety net behind the events)."""
    from sqlalchemy import func

    result = SettleResult()
    total = func.sum(LedgerEntry.amount)
    with_credit = set(session.scalars(select(LedgerEntry.customer_id).where(LedgerEntry.account == "prepaid")
                                      .group_by(LedgerEntry.customer_id).having(total > 0)))
    owing = set(session.scalars(select(LedgerEntry.customer_id).where(LedgerEntry.account == "receivable")
                                .group_by(LedgerEntry.customer_id).having(total < 0)))
    for customer_id in sorted(with_credit & owing):
        settle(session, customer_id, on, result=result)
    return result


# --- top-ups and the rest ---------------------------------------------------------------------


def topup(session: Session, customer: Customer, amount: Any, method: str, payment_id: int | None = None, *,
          on: date | None = None, actor: int | None = None) -> LedgerEntry:
    """Book a top-up and settle what waits for it.

    With ``payment_id`` (a bank payment the import matched) the entry points at that payment and a
    second call returns the same entry. Without it (cash, card) a matched :class:`Payment` is
    recorded as the cause of the entry.
    """
    if method not in TOPUP_METHODS:
        raise PrepaidError(f"method: expected one of {', '.join(TOPUP_METHODS)}, got {method!r}", "method")
    clean = amount_of(amount)
    on = on or date.today()
    if payment_id is not None:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise PrepaidError(f"payment {payment_id} not found in this location", "payment_id")
        if payment.customer_id not in (None, customer.id):
            raise PrepaidError(f"payment {payment_id} belongs to another customer", "payment_id")
        if payment.amount != clean:
            raise PrepaidError(f"payment {payment_id} is {payment.amount}, not {clean}", "amount")
        existing = session.scalar(select(LedgerEntry).where(LedgerEntry.account == "prepaid",
                                                            LedgerEntry.kind == "topup",
                                                            LedgerEntry.payment_id == payment_id))
        if existing is not None:
            return existing
    else:
        payment = Payment(dedup_key=f"prepaid:{method}:{uuid.uuid4()}", method=method, received_on=on, amount=clean,
                          customer_id=customer.id, state="matched", target="prepaid", matched_at=utcnow(),
                          matched_by_id=actor, created_by_id=actor, message="uniCredit")
        session.add(payment)
        session.flush()
    entry = ledger.post(session, customer_id=customer.id, account="prepaid", kind="topup", amount=clean, booked_on=on,
                        payment_id=payment.id, actor_id=actor, note=f"uniCredit {method}")
    session.flush()
    history.record(session, entity="customer", entity_id=customer.id, customer_id=customer.id,
                   action="prepaid_topup", changes={"prepaid": (None, clean)}, reason=f"{method}", user_id=actor)
    settle(session, customer.id, on, actor=actor)
    return entry


def on_payments_matched(session: Session, payment_ids: list[int], on: date | None = None) -> list[int]:
    """Top-ups that arrived (the ``mango_payments_matched`` reaction): book if the import did not, settle."""
    from mango_billing.invoices import in_ids

    customers = []
    for chunk_start in range(0, len(payment_ids), 10_000):  # SQLite allows 32,766 parameters
        chunk = payment_ids[chunk_start:chunk_start + 10_000]
        for payment in session.scalars(select(Payment).where(in_ids(session, Payment.id, chunk),
                                                             Payment.target == "prepaid",
                                                             Payment.customer_id.is_not(None), Payment.amount > 0)):
            customer = session.get(Customer, payment.customer_id)
            topup(session, customer, payment.amount, "bank", payment.id, on=payment.received_on)
            customers.append(payment.customer_id)
    for customer_id in sorted(set(customers)):
        settle(session, customer_id, on)
    return sorted(set(customers))


def refund_remaining(session: Session, customer: Customer, *, on: date | None = None, method: str = "bank_transfer",
                     actor: int | None = None, reason: str | None = None) -> Payment | None:
    """Return the rest of the credit: a ``return`` entry and a refund payment (negative) to pay out.

    Refused while a prepaid service of the customer is still not ended (its next period would
    have nothing to draw from). None when there is nothing to return.
    """
    if method not in REFUND_METHODS:
        raise PrepaidError(f"method: expected one of {', '.join(REFUND_METHODS)}, got {method!r}", "method")
    if prepaid_services(session, customer.id):
        raise PrepaidError("the customer still has a prepaid service; end it first", "customer")
    rest = balance(session, customer.id)
    if rest <= 0:
        return None
    on = on or date.today()
    payment = Payment(dedup_key=f"prepaid-return:{uuid.uuid4()}", method=method, received_on=on, amount=-rest,
                      customer_id=customer.id, state="refunded", target="prepaid", matched_at=utcnow(),
                      matched_by_id=actor, created_by_id=actor, message="Vrácení zbytku kreditu uniCredit")
    session.add(payment)
    session.flush()
    ledger.post(session, customer_id=customer.id, account="prepaid", kind="return", amount=-rest, booked_on=on,
                payment_id=payment.id, actor_id=actor, note="uniCredit return")
    session.flush()
    history.record(session, entity="customer", entity_id=customer.id, customer_id=customer.id,
                   action="prepaid_returned", changes={"prepaid": (rest, ZERO)}, reason=reason, user_id=actor)
    return payment


def on_service_ended(session: Session, service: Service, on: date, *, actor: int | None = None) -> Payment | None:
    """The termination of ``service`` took effect: when it was the customer's last prepaid service,
    open prepaid invoices are paid from the credit first and the rest goes back (:func:`refund_remaining`).

    Nothing goes back while a prepaid invoice stays unpaid: the customer owes more than the credit.
    """
    if payment_method_of(session, service) != PREPAID_METHOD or prepaid_services(session, service.customer_id):
        return None
    settle(session, service.customer_id, on, actor=actor)
    if _waiting(session, service.customer_id):
        return None
    customer = session.get(Customer, service.customer_id)
    return refund_remaining(session, customer, on=on, actor=actor, reason="the last prepaid service ended")
