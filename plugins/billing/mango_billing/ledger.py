"""The ledger: every movement of a customer's money, and what follows from it.

Sign convention (the customer's side): an invoice is negative, a payment positive, a credit
note positive, a refund negative. A customer's balance in an account is the sum of its
entries: ``balance < 0`` means the customer owes, ``> 0`` that they have credit with us.

Accounts: ``receivable`` (invoices, credit notes, payments), ``prepaid`` (uniCredit) and
``advance`` — money received on advance invoices, held for that supply until its final invoice
settles it (``settlement`` entries move it; see :mod:`mango_billing.advances`). An advance invoice
itself has no entry: it asks for money, it is not a debt.

Open items are derived, never stored: a customer's credits (payments, credit notes, an
overpayment) pay their debts oldest due date first (FIFO). Deriving them keeps the ledger the
one truth — an overpayment is simply a positive balance and is used by the next invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_billing.models import ACCOUNTS, ENTRY_KINDS, Invoice, LedgerEntry

ZERO = Decimal("0.00")


class LedgerError(ValueError):
    """A ledger entry that would be wrong (no amount, unknown account or kind)."""


def post(session: Session, *, customer_id: int, kind: str, amount: Decimal, booked_on: date,
         account: str = "receivable", invoice_id: int | None = None, payment_id: int | None = None,
         service_id: int | None = None, note: str | None = None, actor_id: int | None = None) -> LedgerEntry:
    """Add one entry (in the caller's transaction; the unique constraints refuse a repeat)."""
    if account not in ACCOUNTS:
        raise LedgerError(f"unknown ledger account {account!r}")
    if kind not in ENTRY_KINDS:
        raise LedgerError(f"unknown ledger entry kind {kind!r}")
    if not isinstance(amount, Decimal) or amount != amount.quantize(Decimal("0.01")):
        raise LedgerError(f"a ledger amount is a Decimal with at most 2 decimal places, not {amount!r}")
    entry = LedgerEntry(customer_id=customer_id, account=account, kind=kind, amount=amount, booked_on=booked_on,
                        invoice_id=invoice_id, payment_id=payment_id, service_id=service_id, note=note,
                        created_by_id=actor_id)
    session.add(entry)
    return entry


def balance(session: Session, customer_id: int, account: str = "receivable") -> Decimal:
    total = session.scalar(select(func.sum(LedgerEntry.amount))
                           .where(LedgerEntry.customer_id == customer_id, LedgerEntry.account == account))
    return Decimal(total or 0).quantize(Decimal("0.01"))


def balances(session: Session, customer_ids: list[int], account: str = "receivable") -> dict[int, Decimal]:
    """Balances of many customers in one query (customers without entries: 0)."""
    result = dict.fromkeys(customer_ids, ZERO)
    if not customer_ids:
        return result
    rows = session.execute(select(LedgerEntry.customer_id, func.sum(LedgerEntry.amount))
                           .where(LedgerEntry.customer_id.in_(customer_ids), LedgerEntry.account == account)
                           .group_by(LedgerEntry.customer_id))
    for customer_id, total in rows:
        result[customer_id] = Decimal(total or 0).quantize(Decimal("0.01"))
    return result


@dataclass(frozen=True)
class OpenItem:
    """An invoice of a customer and how much of it is still unpaid."""

    invoice_id: int
    number: str
    due_date: date
    total: Decimal
    unpaid: Decimal

    def overdue_days(self, today: date) -> int:
        return max(0, (today - self.due_date).days)


def open_items(session: Session, customer_id: int) -> list[OpenItem]:
    """The customer's invoices not yet paid, oldest due first (credits paid the older debts).

    Debts without an invoice (a refund, a negative adjustment) take their share of the credit in
    the same order, by their booking date.
    """
    mine = (LedgerEntry.customer_id == customer_id, LedgerEntry.account == "receivable")
    invoice_debts = session.execute(
        select(Invoice.due_date, Invoice.id, Invoice.number, LedgerEntry.amount)
        .join(LedgerEntry, LedgerEntry.invoice_id == Invoice.id)
        .where(*mine, LedgerEntry.amount < 0))
    other_debts = session.execute(
        select(LedgerEntry.booked_on, LedgerEntry.id, LedgerEntry.amount)
        .where(*mine, LedgerEntry.amount < 0, LedgerEntry.invoice_id.is_(None)))
    debts = sorted([(due, 0, inv_id, number, -amount) for due, inv_id, number, amount in invoice_debts]
                   + [(day, 1, entry_id, None, -amount) for day, entry_id, amount in other_debts])
    available = Decimal(session.scalar(select(func.sum(LedgerEntry.amount)).where(*mine, LedgerEntry.amount > 0))
                        or 0)
    items = []
    for due, is_other, ref, number, owed in debts:
        paid = min(owed, available)
        available -= paid
        if not is_other and owed > paid:
            items.append(OpenItem(ref, number, due, owed, (owed - paid).quantize(Decimal("0.01"))))
    return items
