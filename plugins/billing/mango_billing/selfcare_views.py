"""Billing in the customer portal: invoices and credit notes (PDF, ISDOC, QR Platba), payments, uniCredit.

The pages use the portal's mechanism like any plugin: blueprint ``billing_selfcare`` under
``/selfcare/billing``, every view behind :func:`mango_core.selfcare.access.customer_required`
(the customer's location scope; 404 where billing is not enabled), and every query names the
customer being looked at — another customer's invoice answers 404, as one of another location.

Nothing here computes money or documents anew: balances and open items are the ledger's
(:mod:`mango_billing.ledger`, :mod:`mango_billing.card`), documents are
:func:`~mango_billing.invoices.to_document` rendered by the outputs, files go through the same
download view logic as in Opcare, the QR codes are the invoice's own (:func:`payment_qr`) or
SPAYD of the location's account with the customer's uniCredit symbol.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_billing import advances, card, ledger, prepaid
from mango_billing.engine_views import send_document  # the one download logic (PDF and ISDOC)
from mango_billing.invoices import seller_snapshot, to_document
from mango_billing.models import BillingRun, Invoice
from mango_billing.outputs.html import LANGUAGES, location_template, payment_qr, render_invoice_pdf
from mango_billing.outputs.isdoc import isdoc_xml
from mango_billing.outputs.qr import QrError, qr_svg
from mango_billing.outputs.spayd import MAX_RECIPIENT, SpaydError, clean_text, spayd
from mango_billing.periods import add_months, month_start
from mango_billing.run import compute_batch, load_catalog, period_bounds
from mango_core.customers.models import Customer
from mango_core.selfcare.access import current_customer, customer_required
from mango_core.selfcare.forms import ConfirmForm
from mango_core.selfcare.views import use_portal_error_pages
from mango_core.tenancy.models import Location
from mango_core.web.request import db

bp = Blueprint("billing_selfcare", __name__, url_prefix="/selfcare/billing", template_folder="templates")
use_portal_error_pages(bp)

TOPUP_MESSAGE = "UNICREDIT"


def _invoice_or_404(invoice_id: int) -> Invoice:
    """A document of the customer being looked at (the tenant guard hides other locations' too)."""
    invoice = db().get(Invoice, invoice_id)
    if invoice is None or invoice.customer_id != current_customer().id:
        abort(404)
    return invoice


def _lang() -> str:
    lang = str(get_locale())
    return lang if lang in LANGUAGES else "cs"


# --- what the overview shows ------------------------------------------------------------------------


def invoice_qr(invoice: Invoice, unpaid: Decimal) -> tuple[str, Markup]:
    """The invoice's QR Platba for what is still unpaid of it (empty when it is not paid by transfer)."""
    payload, svg = payment_qr(replace(to_document(invoice), amount_due=unpaid))
    return payload, Markup(svg)  # noqa: S704 - segno's SVG of a checked SPAYD string, no user markup


def unpaid_invoices(session: Session, customer: Customer) -> list[dict[str, Any]]:
    """The customer's open invoices, oldest due first, each with its QR Platba."""
    items = ledger.open_items(session, customer.id)
    invoices = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_([x.invoice_id for x in items]),
                                                                      Invoice.customer_id == customer.id))}
    today = date.today()
    rows = []
    for item in items:
        invoice = invoices.get(item.invoice_id)
        if invoice is None:
            continue
        payload, svg = invoice_qr(invoice, item.unpaid)
        rows.append({"invoice": invoice, "item": item, "qr": svg, "spayd": payload,
                     "overdue": item.due_date < today, "account": invoice.seller.get("bank_account")
                     or invoice.seller.get("iban") or ""})
    return rows


def billed_members(session: Session, customer: Customer) -> dict[int, int]:
    """customer id → this customer, for it and the children whose services go on its invoice."""
    billed = {customer.id: customer.id}
    level = [customer.id]
    while level:
        level = [cid for cid in session.scalars(select(Customer.id).where(Customer.parent_id.in_(level),
                                                                          Customer.bill_to_parent.is_(True)))
                 if cid not in billed]
        billed.update(dict.fromkeys(level, customer.id))
    return billed


def next_charge(session: Session, customer: Customer) -> tuple[date, Decimal | None] | None:
    """The month of the next billing run and what it is expected to bill the customer (None: nothing).

    A preview by the billing engine itself (nothing is written); None when the customer's services
    are billed to its parent.
    """
    if customer.bill_to_parent and customer.parent_id is not None:
        return None
    start = month_start(date.today())
    if session.scalar(select(BillingRun.id).where(BillingRun.period_start == start)) is not None:
        start = add_months(start, 1)
    run_start, run_end = period_bounds(start)
    location = session.get(Location, customer.location_id)
    drafts = compute_batch(session, load_catalog(session), location, run_start, run_end, [customer.id],
                           billed_members(session, customer))
    return run_start, (drafts[0].totals["total"] if drafts else None)


def render_dashboard(customer: Customer) -> str:
    session = db()
    return render_template("billing/selfcare/dashboard.html", customer=customer,
                           s=card.summary(session, customer.id), unpaid=unpaid_invoices(session, customer),
                           next=next_charge(session, customer))


def render_service(service: Any) -> str:
    session = db()
    location = session.get(Location, service.location_id)
    base = service.effective_price
    vat = (base * service.product.vat_rate / 100).quantize(Decimal("0.01")) if location.vat_payer else Decimal("0")
    return render_template("billing/selfcare/service.html", service=service, base=base, total=base + vat,
                           vat_payer=location.vat_payer, currency=location.currency)


# --- invoices -------------------------------------------------------------------------------------


@bp.get("/invoices/")
@customer_required
def invoices():  # noqa: ANN201
    session, customer = db(), current_customer()
    return render_template("billing/selfcare/invoices.html", rows=card.invoice_rows(session, customer.id),
                           s=card.summary(session, customer.id), states=card.state_labels(), limit=card.INVOICES_LIMIT)


@bp.get("/invoices/<int:invoice_id>")
@customer_required
def invoice_detail(invoice_id: int):  # noqa: ANN201
    invoice = _invoice_or_404(invoice_id)
    session = db()
    document = to_document(invoice)
    item = next((i for i in ledger.open_items(session, invoice.customer_id) if i.invoice_id == invoice.id), None)
    qr = invoice_qr(invoice, item.unpaid)[1] if item is not None else None
    original = session.get(Invoice, invoice.original_id) if invoice.original_id else None
    # an advance invoice is paid on its own symbol, outside the ledger's open items (mango_billing.advances)
    advance = advances.view(session, invoice)
    if advance is not None and invoice.kind == "advance" and advance.unpaid > 0:
        qr = invoice_qr(invoice, advance.unpaid)[1]
    return render_template("billing/selfcare/invoice.html", invoice=invoice, document=document, item=item, qr=qr,
                           original=original, advance=advance)


@bp.get("/invoices/<int:invoice_id>/pdf")
@customer_required
def invoice_pdf(invoice_id: int):  # noqa: ANN201
    invoice = _invoice_or_404(invoice_id)
    render = partial(render_invoice_pdf, lang=_lang(), template=location_template(db()))
    return send_document(invoice, render, "application/pdf", "pdf", "attachment",
                         ".invoice_detail")


@bp.get("/invoices/<int:invoice_id>/isdoc")
@customer_required
def invoice_isdoc(invoice_id: int):  # noqa: ANN201
    invoice = _invoice_or_404(invoice_id)
    return send_document(invoice, isdoc_xml, "application/xml", "isdoc", "attachment", ".invoice_detail")


# --- payments ---------------------------------------------------------------------------------------


@bp.get("/payments/")
@customer_required
def payments():  # noqa: ANN201
    from mango_billing.plan_views import payment_method_labels

    session, customer = db(), current_customer()
    return render_template("billing/selfcare/payments.html", payments=card.payment_rows(session, customer.id),
                           entries=card.ledger_rows(session, customer.id, "receivable"),
                           kinds=card.entry_kind_labels(), methods=payment_method_labels(),
                           s=card.summary(session, customer.id), limit=card.LEDGER_LIMIT)


# --- uniCredit ------------------------------------------------------------------------------------


def _symbol(session: Session, customer_id: int) -> str | None:
    from mango_billing.models import BillingProfile

    return session.scalar(select(BillingProfile.prepaid_symbol).where(BillingProfile.customer_id == customer_id))


def topup_qr(session: Session, customer: Customer, symbol: str, amount: Decimal | None) -> tuple[str, Markup, dict]:
    """SPAYD of a top-up: the location's account, the customer's prepaid symbol, the amount if chosen."""
    location = session.get(Location, customer.location_id)
    seller = seller_snapshot(session, location)
    account = seller["iban"] or seller["bank_account"]
    if not account:
        return "", Markup(""), seller
    try:
        payload = spayd(account, amount, location.currency or "CZK", vs=symbol,
                        message=TOPUP_MESSAGE, bic=seller["bic"] or None,
                        recipient=clean_text(seller["name"], MAX_RECIPIENT) or None)
        return payload, Markup(qr_svg(payload, title="QR Platba")), seller  # noqa: S704 - segno's own SVG
    except (SpaydError, QrError):
        return "", Markup(""), seller


@bp.get("/credit")
@customer_required
def credit():  # noqa: ANN201
    session, customer = db(), current_customer()
    symbol = _symbol(session, customer.id)
    amount = None
    raw = (request.args.get("amount") or "").strip()
    if raw:
        try:
            amount = prepaid.amount_of(raw)
        except prepaid.PrepaidError:
            flash(_("Enter an amount like 500 or 500.50."), "warning")
    payload, svg, seller = topup_qr(session, customer, symbol, amount) if symbol else ("", None, None)
    return render_template("billing/selfcare/credit.html", balance=prepaid.balance(session, customer.id),
                           entries=card.ledger_rows(session, customer.id, "prepaid"), kinds=card.entry_kind_labels(),
                           symbol=symbol, amount=amount, raw_amount=raw, qr=svg, spayd=payload, seller=seller,
                           form=ConfirmForm(), limit=card.LEDGER_LIMIT)


@bp.post("/credit/symbol")
@customer_required
def credit_symbol():  # noqa: ANN201
    """Give the customer its top-up variable symbol (once; afterwards the page shows it)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = db()
    prepaid.ensure_prepaid_symbol(session, current_customer())
    session.commit()
    return redirect(url_for(".credit"))
