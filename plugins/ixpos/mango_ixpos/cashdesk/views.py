"""Opcare pages of the cash desk: registers, the desk screen (find a customer, see open invoices,
take a payment), sessions, payments with their receipts, the journal and the daily closing report.

Taking payments and running sessions needs ``ixpos.cashdesk.use``; registers, the journal and the
closing report ``ixpos.cashdesk.manage``. Objects are looked up in the current location only.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from mango_billing import ledger, prepaid
from mango_core.auth.access import permission_required
from mango_core.auth.models import User
from mango_core.customers.models import Customer
from mango_core.customers.search import Filters, list_customers
from mango_core.tenancy.models import Location
from mango_core.web.access import has_permission
from mango_core.web.forms import options, save
from mango_core.web.request import current_location_id, db
from mango_ixpos.cashdesk import service
from mango_ixpos.cashdesk.hooks import MANAGE, USE
from mango_ixpos.cashdesk.models import APPROVED, CARD, CASH, DECLINED, PENDING, UNKNOWN, CashPayment
from mango_ixpos.cashdesk.receipts import WIDTHS, receipt_pdf, receipt_text
from mango_ixpos.cashdesk.report import daily_report, local_today, report_text
from mango_ixpos.cashdesk.terminals import driver_for
from mango_ixpos.terminal.driver import TerminalError

bp = Blueprint("ixpos_cashdesk", __name__, url_prefix="/ixpos", template_folder="../templates")


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    terminal_host = StringField(_l("Card terminal address (empty: none)"), validators=[Optional(), Length(max=200)])
    terminal_port = StringField(_l("Terminal port"), validators=[Optional(), Length(max=5)])


class OpenForm(FlaskForm):
    opening_float = StringField(_l("Cash in the drawer"), validators=[DataRequired(), Length(max=20)])


class CloseForm(FlaskForm):
    counted = StringField(_l("Counted cash"), validators=[DataRequired(), Length(max=20)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class PayForm(FlaskForm):
    customer_id = HiddenField(validators=[DataRequired()])
    method = SelectField(_l("Method"), choices=options([(CASH, _l("Cash")), (CARD, _l("Card"))]), default=CASH)
    target = SelectField(_l("Pay"), choices=options([("receivable", _l("Invoices")), ("prepaid", _l("uniCredit top-up"))]),
                         default="receivable")
    invoice_id = SelectField(_l("Invoice"), choices=[], validate_choice=False)
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)])
    tendered = StringField(_l("Cash handed over"), validators=[Optional(), Length(max=20)])
    txn_id = HiddenField(validators=[DataRequired(), Length(max=40)])


class ActionForm(FlaskForm):
    """A button that changes state (CSRF only)."""


class RefundForm(FlaskForm):
    txn_id = HiddenField(validators=[DataRequired(), Length(max=40)])


def state_labels() -> dict[str, str]:
    return {PENDING: _("waiting for the terminal"), APPROVED: _("paid"), DECLINED: _("declined"),
            UNKNOWN: _("unknown – reconcile")}


def method_labels() -> dict[str, str]:
    return {CASH: _("Cash"), CARD: _("Card")}


def _or_404(getter, object_id: int):  # noqa: ANN001, ANN202
    try:
        return getter(db(), object_id)
    except service.CashDeskError:
        abort(404)


def _users(ids) -> dict[int, str]:  # noqa: ANN001
    wanted = {i for i in ids if i}
    return {u.id: u.name for u in db().query(User).filter(User.id.in_(wanted))} if wanted else {}


# --- registers and the desk ---------------------------------------------------------------------


@bp.get("/")
@permission_required(USE)
def index():  # noqa: ANN201
    s = db()
    rows = [(r, service.open_session_of(s, r.id)) for r in service.registers(s)]
    return render_template("ixpos/index.html", rows=rows, open_form=OpenForm(formdata=None),
                           register_form=RegisterForm(formdata=None), can_manage=has_permission(MANAGE))


@bp.post("/registers")
@permission_required(MANAGE)
def create_register():  # noqa: ANN201
    form = RegisterForm()
    if form.validate_on_submit():
        saved = save(form, lambda: service.create_register(
            db(), name=form.name.data, terminal_host=form.terminal_host.data, terminal_port=form.terminal_port.data,
            actor=current_user.id), _("Cash register created."))
        if saved:
            return redirect(url_for("ixpos_cashdesk.index"))
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")
    return redirect(url_for("ixpos_cashdesk.index"))


@bp.post("/registers/<int:register_id>/open")
@permission_required(USE)
def open_session(register_id: int):  # noqa: ANN201
    register = _or_404(service.get_register, register_id)
    form = OpenForm()
    if form.validate_on_submit():
        saved = save(form, lambda: service.open_session(db(), register_id=register.id,
                                                        opening_float=form.opening_float.data,
                                                        actor=current_user.id), _("Cash session opened."))
        if saved:
            return redirect(url_for("ixpos_cashdesk.desk", register_id=register.id))
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")
    return redirect(url_for("ixpos_cashdesk.index"))


def _desk(register, form: PayForm | None = None, status: int = 200):  # noqa: ANN001, ANN202
    s = db()
    cash_session = service.open_session_of(s, register.id)
    query = (request.args.get("q") or "").strip()[:100]
    found = list_customers(s, Filters(query=query), limit=20).items if query else []
    customer = None
    wanted = request.args.get("customer", type=int) or (form and form.customer_id.data and
                                                        str(form.customer_id.data).isdigit() and
                                                        int(form.customer_id.data))
    if wanted:
        customer = s.get(Customer, wanted)
    items, credit = [], None
    if customer is not None:
        items = ledger.open_items(s, customer.id)
        credit = prepaid.balance(s, customer.id)
        if form is None:
            form = PayForm(formdata=None)
            form.customer_id.data = str(customer.id)
            form.txn_id.data = service.new_txn_id()
            if items:
                form.amount.data = str(sum(i.unpaid for i in items))
        form.invoice_id.choices = options([("", _("The oldest debts first"))]
                                          + [(str(i.invoice_id), f"{i.number} ({i.unpaid})") for i in items])
    return render_template("ixpos/desk.html", register=register, cash_session=cash_session, query=query,
                           found=found, customer=customer, items=items, credit=credit, form=form,
                           close_form=CloseForm(formdata=None),
                           recent=service.payments_of(s, cash_session.id)[-10:] if cash_session else [],
                           states=state_labels(), methods=method_labels()), status


@bp.get("/registers/<int:register_id>")
@permission_required(USE)
def desk(register_id: int):  # noqa: ANN201
    return _desk(_or_404(service.get_register, register_id))


@bp.post("/registers/<int:register_id>/pay")
@permission_required(USE)
def pay(register_id: int):  # noqa: ANN201
    register = _or_404(service.get_register, register_id)
    s = db()
    form = PayForm()
    if not form.validate_on_submit() or not str(form.customer_id.data).isdigit():
        return _desk(register, form, 400)
    cash_session = service.open_session_of(s, register.id)
    if cash_session is None:
        flash(_("Open a cash session first."), "danger")
        return redirect(url_for("ixpos_cashdesk.index"))
    invoice = form.invoice_id.data
    paid = service.PaymentRequest(customer_id=int(form.customer_id.data), amount=form.amount.data,
                                  target=form.target.data, invoice_id=int(invoice) if str(invoice).isdigit() else None,
                                  tendered=form.tendered.data, txn_id=form.txn_id.data)
    try:
        if form.method.data == CARD:
            payment = service.start_card(s, cash_session, paid, actor=current_user.id)
            s.commit()  # the transaction id is stored before the terminal hears of it
            if payment.state == PENDING:
                driver = driver_for(register)
                try:
                    service.charge_card(s, payment, driver, actor=current_user.id)
                finally:
                    driver.close()
                s.commit()
        else:
            payment = service.take_cash(s, cash_session, paid, actor=current_user.id)
            s.commit()
    except service.CashDeskError as exc:
        s.rollback()
        flash(str(exc), "danger")
        return _desk(register, form, 400)
    except TerminalError as exc:
        s.rollback()
        flash(str(exc), "danger")
        return _desk(register, form, 400)
    messages = {APPROVED: (_("Payment taken."), "success"), DECLINED: (_("The card payment was declined."), "danger"),
                UNKNOWN: (_("The terminal did not answer: the payment must be reconciled."), "warning"),
                PENDING: (_("The card payment is waiting for the terminal."), "warning")}
    flash(*messages[payment.state])
    return redirect(url_for("ixpos_cashdesk.payment", payment_id=payment.id))


# --- sessions and payments ----------------------------------------------------------------------


@bp.get("/sessions")
@permission_required(USE)
def session_list():  # noqa: ANN201
    rows = service.sessions(db())
    return render_template("ixpos/sessions.html", rows=rows,
                           users=_users([r.opened_by_id for r in rows] + [r.closed_by_id for r in rows]))


@bp.get("/sessions/<int:session_id>")
@permission_required(USE)
def session_detail(session_id: int):  # noqa: ANN201
    cash_session = _or_404(service.get_session, session_id)
    s = db()
    return render_template("ixpos/session.html", cash_session=cash_session,
                           payments=service.payments_of(s, cash_session.id),
                           cash=service.cash_taken(s, cash_session.id), close_form=CloseForm(formdata=None),
                           states=state_labels(), methods=method_labels())


@bp.post("/sessions/<int:session_id>/close")
@permission_required(USE)
def close_session(session_id: int):  # noqa: ANN201
    cash_session = _or_404(service.get_session, session_id)
    form = CloseForm()
    if form.validate_on_submit():
        saved = save(form, lambda: service.close_session(db(), cash_session_id=cash_session.id,
                                                         counted=form.counted.data, note=form.note.data,
                                                         actor=current_user.id),
                     lambda closed: _("Cash session closed; difference %(difference)s.",
                                      difference=closed.difference))
        if saved:
            return redirect(url_for("ixpos_cashdesk.session_detail", session_id=cash_session.id))
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")
    return redirect(url_for("ixpos_cashdesk.session_detail", session_id=cash_session.id))


@bp.get("/payments/<int:payment_id>")
@permission_required(USE)
def payment(payment_id: int):  # noqa: ANN201
    found: CashPayment = _or_404(service.get_payment, payment_id)
    s = db()
    refund_form = None
    refund = service.refund_of(s, found)
    if found.kind == "payment" and found.state == APPROVED and refund is None and has_permission(MANAGE):
        refund_form = RefundForm(formdata=None)
        refund_form.txn_id.data = service.new_txn_id()
    return render_template("ixpos/payment.html", payment=found, customer=s.get(Customer, found.customer_id),
                           text=receipt_text(s, found, 42), widths=WIDTHS, states=state_labels(),
                           methods=method_labels(), form=ActionForm(formdata=None), refund_form=refund_form,
                           refund=refund)


@bp.post("/payments/<int:payment_id>/refund")
@permission_required(MANAGE)
def refund(payment_id: int):  # noqa: ANN201
    found: CashPayment = _or_404(service.get_payment, payment_id)
    form = RefundForm()
    if not form.validate_on_submit():
        abort(400)
    s = db()
    register = found.session.register
    cash_session = service.open_session_of(s, register.id)
    try:
        if cash_session is None:
            raise service.CashDeskError(service.N_("Open a cash session first."))
        made = service.start_refund(s, found, cash_session, form.txn_id.data, actor=current_user.id)
        s.commit()  # stored before the terminal hears of it
        if made.state == PENDING:
            driver = driver_for(register)
            try:
                service.charge_card(s, made, driver, actor=current_user.id)
            finally:
                driver.close()
            s.commit()
    except (service.CashDeskError, TerminalError) as exc:
        s.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("ixpos_cashdesk.payment", payment_id=found.id))
    flash(_("Refund: %(state)s.", state=state_labels()[made.state]), "success" if made.state == APPROVED else "warning")
    return redirect(url_for("ixpos_cashdesk.payment", payment_id=made.id))


@bp.get("/payments/<int:payment_id>/receipt.txt")
@permission_required(USE)
def receipt_txt(payment_id: int):  # noqa: ANN201
    found = _or_404(service.get_payment, payment_id)
    width = request.args.get("width", 42, type=int)
    if width not in WIDTHS:
        abort(400)
    return Response(receipt_text(db(), found, width), mimetype="text/plain; charset=utf-8")


@bp.get("/payments/<int:payment_id>/receipt.pdf")
@permission_required(USE)
def receipt_pdf_view(payment_id: int):  # noqa: ANN201
    found = _or_404(service.get_payment, payment_id)
    return Response(receipt_pdf(db(), found), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="receipt-{found.number}.pdf"'})


@bp.post("/payments/<int:payment_id>/reconcile")
@permission_required(USE)
def reconcile(payment_id: int):  # noqa: ANN201
    found = _or_404(service.get_payment, payment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db()
    try:
        driver = driver_for(found.session.register)
    except TerminalError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("ixpos_cashdesk.payment", payment_id=found.id))
    try:
        service.reconcile(s, found, driver, actor=current_user.id)
    finally:
        driver.close()
    s.commit()
    flash(_("Result: %(state)s.", state=state_labels()[found.state]), "info")
    return redirect(url_for("ixpos_cashdesk.payment", payment_id=found.id))


# --- journal and closing report -----------------------------------------------------------------


def event_labels() -> dict[str, str]:
    return {"register_created": _("Cash register created"), "session_opened": _("Session opened"),
            "session_closed": _("Session closed"), "cash_payment": _("Cash payment"),
            "card_pending": _("Card payment sent to the terminal"), "card_approved": _("Card payment approved"),
            "card_declined": _("Card payment declined"), "card_unknown": _("Card payment result unknown"),
            "card_reconciled": _("Card payment reconciled"), "cash_refund": _("Cash refund")}


@bp.get("/journal")
@permission_required(MANAGE)
def journal():  # noqa: ANN201
    rows = service.journal_entries(db())
    return render_template("ixpos/journal.html", rows=rows, users=_users(r.user_id for r in rows),
                           events=event_labels())


def _day() -> date:
    text = request.args.get("day") or ""
    try:
        if text:
            return date.fromisoformat(text)
    except ValueError:
        abort(400)
    return local_today(db().get(Location, current_location_id()).timezone)


@bp.get("/report")
@permission_required(MANAGE)
def report():  # noqa: ANN201
    day = _day()
    found = daily_report(db(), current_location_id(), day)
    return render_template("ixpos/report.html", report=found, day=day, states=state_labels())


@bp.get("/report.txt")
@permission_required(MANAGE)
def report_txt():  # noqa: ANN201
    found = daily_report(db(), current_location_id(), _day())
    width = request.args.get("width", 42, type=int)
    if width not in WIDTHS:
        abort(400)
    return Response(report_text(found, width), mimetype="text/plain; charset=utf-8")
