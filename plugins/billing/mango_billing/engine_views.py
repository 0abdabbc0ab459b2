"""Opcare screens of the engine: invoices (list, detail, PDF, ISDOC, credit note), advance invoices
(state, their tax documents, the final invoice, cancelling) and billing runs.

Every view checks a permission; objects are looked up in the current location only (404 otherwise);
every state change is a POST with CSRF.
"""

from __future__ import annotations

from datetime import date
from functools import partial

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from mango_billing import advances, ledger
from mango_billing.invoices import InvoiceError, credit_note, to_document
from mango_billing.models import DOCUMENT_KINDS, Advance, BillingRun, Invoice, LedgerEntry
from mango_billing.run import RunError, period_bounds, preview, run_billing
from mango_core.auth.access import permission_required
from mango_core.customers.models import Customer
from mango_core.web.access import has_permission
from mango_core.web.layout import current_location
from mango_core.web.request import db

bp = Blueprint("billing_invoices", __name__, url_prefix="/billing", template_folder="templates")
PER_PAGE = 50
PERIOD_RE = r"^\d{4}-\d{2}$"


class RunForm(FlaskForm):
    period = StringField(_l("Period (YYYY-MM)"), validators=[DataRequired(), Regexp(PERIOD_RE)])


class CancelAdvanceForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class CreditNoteForm(FlaskForm):
    vat_rate = SelectField(_l("VAT rate"), choices=[])
    amount = DecimalField(_l("Amount without VAT"), places=2, validators=[DataRequired(), NumberRange(min=0.01)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=300)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


def _invoice(invoice_id: int) -> Invoice:
    invoice = db().get(Invoice, invoice_id)  # the tenant guard hides other locations' rows
    if invoice is None:
        abort(404)
    return invoice


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


@bp.get("/invoices/")
@permission_required("billing.invoices.view")
def invoices():  # noqa: ANN201
    s = db()
    stmt = select(Invoice, Customer.display_name).join(Customer, Customer.id == Invoice.customer_id)
    period = (request.args.get("period") or "").strip()
    state = request.args.get("state") or ""
    customer = (request.args.get("customer") or "").strip()
    kind = request.args.get("kind") or ""
    if kind in DOCUMENT_KINDS:
        stmt = stmt.where(Invoice.kind == kind)
    else:
        kind = ""
    if period:
        try:
            start, end = period_bounds(period)
        except RunError:
            flash(_l("Enter the period as YYYY-MM."), "warning")
        else:
            stmt = stmt.where(Invoice.issued_on >= start, Invoice.issued_on < end)
    if customer:
        if customer.isdigit():
            stmt = stmt.where(Customer.number == int(customer))
        else:
            stmt = stmt.where(Customer.display_name.ilike(f"%{customer}%"))
    if state in ("paid", "unpaid") and kind == "advance":
        paid = Advance.state.in_(("paid", "settled"))
        stmt = stmt.join(Advance, Advance.invoice_id == Invoice.id).where(
            paid if state == "paid" else Advance.state == "open")
    elif state in ("paid", "unpaid"):
        # cheap rule for the filter: a customer whose balance is negative still owes for their invoices
        owing = (select(LedgerEntry.customer_id).where(LedgerEntry.account == "receivable")
                 .group_by(LedgerEntry.customer_id).having(func.sum(LedgerEntry.amount) < 0))
        cond = Invoice.customer_id.in_(owing)
        stmt = stmt.where(cond if state == "unpaid" else ~cond, Invoice.kind == "invoice")
    page = _page()
    rows = s.execute(stmt.order_by(Invoice.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    unpaid: dict[int, object] = {}
    for customer_id in {inv.customer_id for inv, _n in rows[:PER_PAGE]}:
        for item in ledger.open_items(s, customer_id):
            unpaid[item.invoice_id] = item.unpaid
    # advance invoices have no ledger entry: their state and what is unpaid come from their record
    shown = [inv.id for inv, _n in rows[:PER_PAGE] if inv.kind == "advance"]
    states = {}
    if shown:
        for adv in s.scalars(select(Advance).where(Advance.invoice_id.in_(shown))):
            states[adv.invoice_id] = adv.state
            if advances.unpaid(adv) > 0:
                unpaid[adv.invoice_id] = advances.unpaid(adv)
    return render_template("billing/engine_invoices.html", rows=rows[:PER_PAGE], has_next=len(rows) > PER_PAGE,
                           page=page, period=period, state=state, customer=customer, unpaid=unpaid, kind=kind,
                           advance_states=states, kinds=kind_labels(), state_names=advance_state_labels())


def kind_labels() -> dict[str, object]:
    return {"invoice": _l("Invoice"), "credit_note": _l("Credit note"), "advance": _l("Advance invoice"),
            "advance_tax": _l("Tax document on a received payment")}


def advance_state_labels() -> dict[str, object]:
    return {"open": _l("awaiting payment"), "paid": _l("advance paid"), "settled": _l("settled by final invoice"),
            "cancelled": _l("advance cancelled")}


@bp.get("/invoices/<int:invoice_id>")
@permission_required("billing.invoices.view")
def invoice_detail(invoice_id: int):  # noqa: ANN201
    invoice = _invoice(invoice_id)
    s = db()
    original = s.get(Invoice, invoice.original_id) if invoice.original_id else None
    notes = list(s.scalars(select(Invoice).where(Invoice.original_id == invoice.id).order_by(Invoice.id)))
    open_item = next((i for i in ledger.open_items(s, invoice.customer_id) if i.invoice_id == invoice.id), None)
    form = _credit_form(invoice)
    document = to_document(invoice, original=original)
    notes = [n for n in notes if n.kind == "credit_note"]
    return render_template("billing/engine_invoice.html", invoice=invoice, document=document, original=original,
                           notes=notes, open_item=open_item, form=form, advance=advances.view(s, invoice),
                           cancel_form=CancelAdvanceForm(), settle_form=FlaskForm(), kinds=kind_labels(),
                           state_names=advance_state_labels(), may_issue=has_permission("billing.invoices.issue"),
                           can_issue=has_permission("billing.invoices.issue") and invoice.kind == "invoice")


def _advance(invoice_id: int) -> Advance:
    advance = advances.of_invoice(db(), _invoice(invoice_id))
    if advance is None or advance.invoice_id != invoice_id:
        abort(404)
    return advance


@bp.post("/invoices/<int:invoice_id>/final-invoice")
@permission_required("billing.invoices.issue")
def advance_settle(invoice_id: int):  # noqa: ANN201
    """The final invoice of the advance's own lines, deducting what was paid on it."""
    advance = _advance(invoice_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    s = db()
    try:
        final = advances.settle(s, advance, actor_id=current_user.id)
    except InvoiceError as exc:
        s.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    s.commit()
    flash(_l("Final invoice %(number)s issued.", number=final.number), "success")
    return redirect(url_for(".invoice_detail", invoice_id=final.id))


@bp.post("/invoices/<int:invoice_id>/cancel")
@permission_required("billing.invoices.issue")
def advance_cancel(invoice_id: int):  # noqa: ANN201
    advance = _advance(invoice_id)
    form = CancelAdvanceForm()
    if not form.validate_on_submit():
        abort(400)
    s = db()
    try:
        advances.cancel(s, advance, reason=form.reason.data or "", actor_id=current_user.id)
    except InvoiceError as exc:
        s.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".invoice_detail", invoice_id=invoice_id))
    s.commit()
    flash(_l("The advance invoice is cancelled."), "success")
    return redirect(url_for(".invoice_detail", invoice_id=invoice_id))


def _credit_form(invoice: Invoice) -> CreditNoteForm:
    form = CreditNoteForm()
    form.vat_rate.choices = [(str(r), f"{r} %") for r in sorted({ln.vat_rate for ln in invoice.lines}, reverse=True)]
    return form


@bp.post("/invoices/<int:invoice_id>/credit-note")
@permission_required("billing.invoices.issue")
def invoice_credit_note(invoice_id: int):  # noqa: ANN201
    invoice = _invoice(invoice_id)
    form = _credit_form(invoice)
    if not form.validate_on_submit():
        flash(_l("Fill in the amount and the reason of the credit note."), "danger")
        return redirect(url_for(".invoice_detail", invoice_id=invoice.id))
    s = db()
    try:
        note = credit_note(s, invoice, [{"vat_rate": form.vat_rate.data, "amount": form.amount.data,
                                         "description": form.description.data or None}],
                           form.reason.data, actor_id=current_user.id)
    except InvoiceError as exc:
        s.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".invoice_detail", invoice_id=invoice.id))
    s.commit()
    flash(_l("Credit note %(number)s issued.", number=note.number), "success")
    return redirect(url_for(".invoice_detail", invoice_id=note.id))


def send_document(invoice: Invoice, render, mimetype: str, extension: str, disposition: str,  # noqa: ANN001, ANN201
                  back: str):
    """The invoice's file made by ``render(document)``; incomplete data go back to the page ``back``
    (an endpoint taking ``invoice_id``) with the reason. Opcare and Selfcare both download through it."""
    try:
        content = render(to_document(invoice))
    except ValueError as exc:  # InvoiceRenderError / IsdocError / DocumentError: the location's data are incomplete
        flash(str(exc), "danger")
        return redirect(url_for(back, invoice_id=invoice.id))
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f'{disposition}; filename="{invoice.number}.{extension}"'})


@bp.get("/invoices/<int:invoice_id>/pdf")
@permission_required("billing.invoices.view")
def invoice_pdf(invoice_id: int):  # noqa: ANN201
    from mango_billing.outputs.html import location_template, render_invoice_pdf

    render = partial(render_invoice_pdf, template=location_template(db()))
    return send_document(_invoice(invoice_id), render, "application/pdf", "pdf", "inline",
                         ".invoice_detail")


@bp.get("/invoices/<int:invoice_id>/isdoc")
@permission_required("billing.invoices.view")
def invoice_isdoc(invoice_id: int):  # noqa: ANN201
    from mango_billing.outputs.isdoc import isdoc_xml

    return send_document(_invoice(invoice_id), isdoc_xml, "application/xml", "isdoc", "attachment",
                         ".invoice_detail")


@bp.get("/runs/")
@permission_required("billing.invoices.issue")
def runs():  # noqa: ANN201
    past = list(db().scalars(select(BillingRun).order_by(BillingRun.period_start.desc()).limit(36)))
    form = RunForm(period=request.args.get("period") or date.today().strftime("%Y-%m"))
    return render_template("billing/engine_runs.html", runs=past, form=form)


@bp.get("/runs/preview")
@permission_required("billing.invoices.issue")
def run_preview():  # noqa: ANN201
    period = (request.args.get("period") or "").strip()
    try:
        period_bounds(period)
    except RunError as exc:
        flash(str(exc), "danger")
        return redirect(url_for(".runs"))
    page = _page()
    drafts, count = preview(db(), current_location(), period, page=page, per_page=PER_PAGE)
    done = db().scalar(select(BillingRun).where(BillingRun.period_start == period_bounds(period)[0]))
    return render_template("billing/engine_run_preview.html", period=period, drafts=drafts, count=count, page=page,
                           has_next=page * PER_PAGE < count, run=done, form=RunForm(period=period))


@bp.post("/runs/confirm")
@permission_required("billing.invoices.issue")
def run_confirm():  # noqa: ANN201
    form = RunForm()
    if not form.validate_on_submit():
        flash(_l("Enter the period as YYYY-MM."), "danger")
        return redirect(url_for(".runs"))
    try:
        result = run_billing(db(), current_location(), form.period.data, actor_id=current_user.id)
    except RunError as exc:
        flash(str(exc), "danger")
        return redirect(url_for(".runs"))
    if result.already_done:
        flash(_l("The period has been billed already; nothing was issued."), "info")
    else:
        flash(_l("%(count)d invoices issued.", count=result.invoices), "success")
    return redirect(url_for(".runs"))
