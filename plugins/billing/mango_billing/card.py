"""The billing parts of the Opcare customer card: the balance panel, the "Invoices" and "Payments and balance"
tabs (the latter: the payments and each ledger account's entries with the running balance).

Everything is read in the request's location scope (the customer's location: the card answers
404 for another one). Balances and open items come from :mod:`mango_billing.ledger`, the one
truth about money; the running balance of the ledger tab is a window sum in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session

from mango_billing import advances, ledger
from mango_billing.models import Advance, Invoice, LedgerEntry, Payment
from mango_core.customers.card import PANEL, TAB, CardPart
from mango_core.db import Money
from mango_core.web.request import db

if TYPE_CHECKING:
    from mango_core.customers.models import Customer

INVOICES_LIMIT = 200
LEDGER_LIMIT = 200


def invoice_url(invoice_id: int) -> str:
    """The invoice page (built by the invoices screens); its endpoint when present, else the URL."""
    from flask import current_app, url_for

    for endpoint in ("billing_invoices.invoice_detail", "billing_invoices.detail"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint, invoice_id=invoice_id)
    return f"{request.script_root}/billing/invoices/{invoice_id}"


@dataclass(frozen=True)
class Summary:
    receivable: Decimal  # < 0: the customer owes
    prepaid: Decimal  # uniCredit held for the customer
    overdue: Decimal  # unpaid after the due date (>= 0)
    open_count: int
    advance: Decimal = Decimal("0.00")  # received on advance invoices, not settled yet (mango_billing.advances)


def summary(session: Session, customer_id: int, today: date | None = None) -> Summary:
    today = today or date.today()
    items = ledger.open_items(session, customer_id)
    overdue = sum((i.unpaid for i in items if i.due_date < today), ledger.ZERO)
    return Summary(ledger.balance(session, customer_id, "receivable"), ledger.balance(session, customer_id, "prepaid"),
                   overdue, len(items), ledger.balance(session, customer_id, "advance"))


def invoice_rows(session: Session, customer_id: int, limit: int = INVOICES_LIMIT) -> list[dict[str, Any]]:
    """The customer's documents, newest first, with what is unpaid of each (FIFO from the ledger)."""
    unpaid = {item.invoice_id: item.unpaid for item in ledger.open_items(session, customer_id)}
    # an advance invoice has no ledger entry: its state is its own (mango_billing.advances)
    held = {a.invoice_id: a for a in session.scalars(select(Advance).where(Advance.customer_id == customer_id))}
    docs = session.scalars(select(Invoice).where(Invoice.customer_id == customer_id)
                           .order_by(Invoice.issued_on.desc(), Invoice.id.desc()).limit(limit))
    today = date.today()
    rows = []
    for doc in docs:
        left = unpaid.get(doc.id, ledger.ZERO)
        advance = held.get(doc.id) if doc.kind == "advance" else None
        if advance is not None:
            left = advances.unpaid(advance)
            state = {"cancelled": "cancelled", "open": "partial" if advance.paid > 0 else "unpaid"}.get(
                advance.state, "paid")
        elif doc.kind == "credit_note" or doc.total <= 0:
            state = "credit"
        elif left <= 0:
            state = "paid"
        elif left < doc.total:
            state = "partial"
        else:
            state = "unpaid"
        rows.append({"invoice": doc, "unpaid": left, "state": state, "url": invoice_url(doc.id),
                     "overdue": state in ("unpaid", "partial") and doc.due_date < today})
    return rows


def ledger_rows(session: Session, customer_id: int, account: str, limit: int = LEDGER_LIMIT) -> list[dict[str, Any]]:
    """The latest entries of one account with the balance after each (a window sum over all entries)."""
    running = type_coerce(func.sum(LedgerEntry.amount).over(order_by=(LedgerEntry.booked_on, LedgerEntry.id)),
                          Money())
    inner = (select(LedgerEntry.id.label("id"), running.label("running"))
             .where(LedgerEntry.customer_id == customer_id, LedgerEntry.account == account).subquery())
    stmt = (select(LedgerEntry, Invoice.number, type_coerce(inner.c.running, Money()))
            .join(inner, inner.c.id == LedgerEntry.id)
            .outerjoin(Invoice, Invoice.id == LedgerEntry.invoice_id)
            .order_by(LedgerEntry.booked_on.desc(), LedgerEntry.id.desc()).limit(limit))
    return [{"entry": entry, "number": number, "running": run} for entry, number, run in session.execute(stmt)]


def payment_rows(session: Session, customer_id: int, limit: int = LEDGER_LIMIT) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.customer_id == customer_id)
                                .order_by(Payment.received_on.desc(), Payment.id.desc()).limit(limit)))


def entry_kind_labels() -> dict[str, Any]:
    return {"invoice": _l("invoice"), "credit_note": _l("credit note"), "payment": _l("payment"),
            "refund": _l("refund"), "reversal": _l("reversal"), "topup": _l("top-up"), "draw": _l("draw"),
            "return": _l("return"), "adjustment": _l("adjustment"), "settlement": _l("advance settlement")}


def state_labels() -> dict[str, Any]:
    return {"paid": _l("paid"), "partial": _l("partly paid"), "unpaid": _l("unpaid"), "credit": _l("credit note"),
            "matched": _l("matched"), "unmatched": _l("unmatched"), "ignored": _l("ignored"),
            "refunded": _l("refunded"), "cancelled": _l("advance cancelled")}


def render_panel(customer: Customer) -> str:
    return render_template("billing/screens_card_panel.html", customer=customer, s=summary(db(), customer.id))


def render_invoices(customer: Customer) -> str:
    session = db()
    return render_template("billing/screens_card_invoices.html", customer=customer,
                           rows=invoice_rows(session, customer.id), s=summary(session, customer.id),
                           states=state_labels(), limit=INVOICES_LIMIT)


def render_payments(customer: Customer) -> str:
    session = db()
    from mango_billing.plan_views import payment_method_labels

    account = request.args.get("account", "receivable")
    if account not in ("receivable", "prepaid", "advance"):
        account = "receivable"
    return render_template("billing/screens_card_payments.html", customer=customer, account=account,
                           entries=ledger_rows(session, customer.id, account),
                           payments=payment_rows(session, customer.id), s=summary(session, customer.id),
                           kinds=entry_kind_labels(), states=state_labels(), methods=payment_method_labels(),
                           limit=LEDGER_LIMIT)


def card_parts() -> list[CardPart]:
    return [
        CardPart("billing_balance", _l("Balance"), render_panel, kind=PANEL, order=20,
                 permission="billing.invoices.view"),
        CardPart("billing_invoices", _l("Invoices"), render_invoices, kind=TAB, order=40,
                 permission="billing.invoices.view", icon="receipt"),
        CardPart("billing_payments", _l("Payments and balance"), render_payments, kind=TAB, order=41,
                 permission="billing.payments.view", icon="cash-coin"),
    ]
