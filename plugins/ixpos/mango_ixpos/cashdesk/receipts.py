"""Receipts: plain text for 80 mm thermal printers (42 or 48 columns) and the same as a PDF.

The text is the receipt: the PDF sets it in a monospace font on an 80 mm wide page, so what the
customer gets on paper and what is archived as PDF say the same. Times are in the location's
time zone; amounts are written the Czech way (``1 234,50 CZK``) whatever the UI language.
"""

from __future__ import annotations

import html
import textwrap
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from mango_core.auth.models import User
from mango_core.customers.models import Customer
from mango_core.tenancy import clock
from mango_core.tenancy.models import Location
from mango_ixpos.cashdesk.models import APPROVED, CARD, CASH, PREPAID, REFUND, CashPayment

WIDTHS = (42, 48)


def amount_text(amount: Decimal, currency: str = "CZK") -> str:
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + f" {currency}"


def local(moment: datetime | None, timezone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(clock.zone(timezone)).strftime("%d.%m.%Y %H:%M")


def _center(text: str, width: int) -> list[str]:
    return [line.center(width).rstrip() for line in textwrap.wrap(text, width) or [""]]


def _pair(label: str, value: str, width: int) -> list[str]:
    """``label ........ value`` on one line, or the value right-aligned below when both do not fit."""
    label, value = label.strip(), value.strip()
    if len(label) + 1 + len(value) <= width:
        return [label + " " * (width - len(label) - len(value)) + value]
    lines = textwrap.wrap(label, width) or [""]
    lines += [part.rjust(width) for part in (textwrap.wrap(value, width) or [""])]
    return lines


def receipt_lines(session: Session, payment: CashPayment, width: int = 42) -> list[str]:
    if width not in WIDTHS:
        raise ValueError(f"a receipt is {' or '.join(map(str, WIDTHS))} columns wide")
    location = session.get(Location, payment.location_id)
    customer = session.get(Customer, payment.customer_id)
    clerk = session.get(User, payment.created_by_id) if payment.created_by_id else None
    register = payment.session.register
    lines: list[str] = []
    lines += _center(location.company_name, width)
    address = ", ".join(p for p in (location.street, f"{location.postal_code} {location.city}".strip()) if p)
    if address:
        lines += _center(address, width)
    ids = "  ".join(p for p in (f"IČO {location.ico}" if location.ico else "",
                                f"DIČ {location.dic}" if location.dic else "") if p)
    if ids:
        lines += _center(ids, width)
    lines.append("=" * width)
    if payment.kind == REFUND:
        lines += _center(_("REFUND"), width)
        lines += _pair(_("Refund of"), session.get(CashPayment, payment.refund_of_id).number, width)
    lines += _pair(_("Receipt"), payment.number, width)
    lines += _pair(_("Date"), local(payment.decided_at or payment.created_at, location.timezone), width)
    lines += _pair(_("Cash register"), register.name, width)
    if clerk is not None:
        lines += _pair(_("Cashier"), clerk.name, width)
    lines.append("-" * width)
    lines += _pair(_("Customer"), f"{customer.display_name} ({customer.number})", width)
    if payment.target == PREPAID:
        lines += _pair(_("Purpose"), _("uniCredit top-up"), width)
    else:
        lines += _pair(_("Purpose"), _("Payment of invoices"), width)
    if payment.invoice_id:
        from mango_billing.models import Invoice

        invoice = session.get(Invoice, payment.invoice_id)
        lines += _pair(_("Invoice"), invoice.number, width)
    lines.append("-" * width)
    lines += _pair(_("TOTAL"), amount_text(payment.signed_amount, payment.currency), width)
    if payment.method == CASH and payment.kind == REFUND:
        lines += _pair(_("Paid out in cash"), amount_text(payment.amount, payment.currency), width)
    elif payment.method == CASH:
        lines += _pair(_("Paid in cash"), amount_text(payment.tendered or payment.amount, payment.currency), width)
        if payment.change:
            lines += _pair(_("Change given"), amount_text(payment.change, payment.currency), width)
    elif payment.method == CARD:
        label = _("Refunded to card") if payment.kind == REFUND else _("Paid by card")
        lines += _pair(label, payment.card or "", width)
        lines += _pair(_("Authorisation"), payment.auth_code or "", width)
        lines += _pair(_("Transaction"), payment.txn_id, width)
    if payment.state != APPROVED:
        lines.append("*" * width)
        lines += _center(_("NOT PAID"), width)
    lines.append("=" * width)
    lines += _center(_("Thank you for your payment."), width)
    return lines


def receipt_text(session: Session, payment: CashPayment, width: int = 42) -> str:
    return "\n".join(receipt_lines(session, payment, width)) + "\n"


RECEIPT_CSS = """
@page { size: 80mm 297mm; margin: 4mm; @bottom-right { content: none; } }
html { font-size: 8.2pt; }
pre { font-family: "DejaVu Sans Mono", monospace; margin: 0; white-space: pre; }
"""


def receipt_pdf(session: Session, payment: CashPayment) -> bytes:
    from mango_core.documents.pdf import to_pdf

    text = receipt_text(session, payment, 42)
    return to_pdf(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(payment.number)}</title>"
                  f"</head><body><pre>{html.escape(text)}</pre></body></html>", RECEIPT_CSS)
