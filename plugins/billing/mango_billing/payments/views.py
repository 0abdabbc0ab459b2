"""Opcare screens of payments: the list, a payment's card, manual payment, statement import, pairing.

Reads need ``billing.payments.view``, every change ``billing.payments.manage``; changes are POST
with CSRF (Flask-WTF); objects are looked up in the current location only (404 otherwise).
"""

from __future__ import annotations

import secrets
from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, DateField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from mango_billing.bank import FORMATS, StatementError
from mango_billing.models import Payment, StatementFile
from mango_billing.payments import fio_download, service
from mango_billing.payments.importer import import_statement
from mango_billing.payments.matching import norm, suggestions
from mango_billing.payments.models import FioLink
from mango_core.auth.access import permission_required
from mango_core.customers.models import Customer
from mango_core.tenancy.models import BankAccount
from mango_core.web.access import has_permission
from mango_core.web.forms import options
from mango_core.web.request import current_location_id, db

bp = Blueprint("billing_payments", __name__, url_prefix="/billing/payments", template_folder="../templates")

PAGE = 100
STATES = ("unmatched", "matched", "ignored", "refunded")


TARGETS = options([("receivable", _l("Invoices")), ("prepaid", _l("uniCredit"))])


class ManualPaymentForm(FlaskForm):
    customer = StringField(_l("Customer (number or variable symbol)"), validators=[DataRequired(), Length(max=20)])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)])
    method = SelectField(_l("Method"), choices=options([("cash", _l("Cash")), ("card", _l("Card")),
                                                        ("bank", _l("Bank transfer"))]))
    target = SelectField(_l("Credit to"), choices=TARGETS)
    received_on = DateField(_l("Received on"), validators=[DataRequired()], default=date.today)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=90)])


class ImportForm(FlaskForm):
    file = FileField(_l("Statement file"), validators=[FileRequired()])
    format = SelectField(_l("Format"), choices=options([("", _l("Detect"))] + [(f, f) for f in FORMATS]))
    account = SelectField(_l("Bank account"), choices=[], validate_choice=False)
    no_check_totals = BooleanField(_l("Accept an excerpt that does not add up"))


class FioTokenForm(FlaskForm):
    account = SelectField(_l("Bank account"), choices=[], validate_choice=False)
    token = PasswordField(_l("Fio API token"), validators=[DataRequired(), Length(max=200)])


class PairForm(FlaskForm):
    customer = StringField(_l("Customer (number or variable symbol)"), validators=[Optional(), Length(max=20)])
    customer_id = HiddenField()
    target = SelectField(_l("Credit to"), choices=TARGETS)


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=300)])


def _payment_or_404(payment_id: int) -> Payment:
    payment = db().get(Payment, payment_id)
    if payment is None or payment.location_id != current_location_id():
        abort(404)
    return payment


def _find_customer(text: str | None) -> Customer | None:
    """A customer of this location by number or variable symbol."""
    value = (text or "").strip()
    if not value.isdigit():
        return None
    s = db()
    found = s.scalar(select(Customer).where(Customer.variable_symbol == norm(value)))
    if found is None and len(value) <= 9:
        found = s.scalar(select(Customer).where(Customer.number == int(value)))
    return found


@bp.get("/")
@permission_required("billing.payments.view")
def index():  # noqa: ANN201
    state = request.args.get("state") or None
    query = select(Payment).order_by(Payment.id.desc()).limit(PAGE)
    if state in STATES:
        query = query.where(Payment.state == state)
    before = request.args.get("before", type=int)
    if before:
        query = query.where(Payment.id < before)
    payments = list(db().scalars(query))
    names = _names({p.customer_id for p in payments if p.customer_id})
    return render_template("billing/payments_list.html", payments=payments, names=names, state=state,
                           states=STATES, can_manage=has_permission("billing.payments.manage"),
                           next_before=payments[-1].id if len(payments) == PAGE else None)


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db().execute(select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))).all())


@bp.get("/<int:payment_id>")
@permission_required("billing.payments.view")
def detail(payment_id: int):  # noqa: ANN201
    payment = _payment_or_404(payment_id)
    customer = db().get(Customer, payment.customer_id) if payment.customer_id else None
    return render_template("billing/payments_detail.html", payment=payment, customer=customer,
                           events=service.events(db(), payment.id))


@bp.route("/new", methods=["GET", "POST"])
@permission_required("billing.payments.manage")
def new():  # noqa: ANN201
    form = ManualPaymentForm()
    if request.method == "GET":
        form.idempotency_key.data = secrets.token_urlsafe(24)
        return render_template("billing/payments_new.html", form=form)
    if not form.validate_on_submit():
        return render_template("billing/payments_new.html", form=form), 400
    customer = _find_customer(form.customer.data)
    if customer is None:
        form.customer.errors = [_("No customer with this number or variable symbol.")]
        return render_template("billing/payments_new.html", form=form), 400
    s = db()
    try:
        recorded = service.record_payment(
            s, location_id=current_location_id(), customer_id=customer.id, amount=form.amount.data,
            method=form.method.data, received_on=form.received_on.data, target=form.target.data,
            idempotency_key=form.idempotency_key.data, actor_id=current_user.id, note=form.note.data)
    except service.PaymentError as exc:
        s.rollback()
        form.amount.errors = [str(exc)]
        return render_template("billing/payments_new.html", form=form), 400
    s.commit()
    if recorded.created:
        flash(_("Payment recorded."), "success")
    else:
        flash(_("This payment was already recorded."), "info")
    return redirect(url_for("billing_payments.detail", payment_id=recorded.payment.id))


def _accounts() -> list[BankAccount]:
    """The location's bank accounts, read once per request (both forms of the import screen list them)."""
    if "billing_accounts" not in g:
        g.billing_accounts = list(db().scalars(select(BankAccount).order_by(BankAccount.label)))
    return g.billing_accounts


def _account_choices() -> list[tuple[str, str]]:
    return [(str(a.id), f"{a.label} ({a.account_number or a.iban})") for a in _accounts()]


def _import_form() -> ImportForm:
    form = ImportForm()
    form.account.choices = options([("", _("By the number in the file")), *_account_choices()])
    return form


def _fio_form() -> FioTokenForm:
    form = FioTokenForm(prefix="fio")
    form.account.choices = options(_account_choices())
    return form


def _import_page(form: ImportForm, fio_form: FioTokenForm | None = None, status: int = 200):  # noqa: ANN202
    """The import screen: the upload form, the Fio links (token hint, last download) and the latest statements."""
    statements = list(db().scalars(select(StatementFile).order_by(StatementFile.id.desc()).limit(20)))
    links = list(db().scalars(select(FioLink).order_by(FioLink.bank_account_id)))
    return render_template("billing/payments_import.html", form=form, statements=statements, summary=None,
                           fio_form=fio_form or _fio_form(), links=links,
                           accounts={a.id: a for a in _accounts()}), status


@bp.route("/import", methods=["GET", "POST"])
@permission_required("billing.payments.manage")
def import_form():  # noqa: ANN201
    form = _import_form()
    if request.method == "GET":
        return _import_page(form)
    if not form.validate_on_submit():
        return _import_page(form, status=400)
    upload = form.file.data
    data = upload.read(64 * 1024 * 1024 + 1)
    s = db()
    try:
        if len(data) > 64 * 1024 * 1024:
            raise StatementError("the file is larger than 64 MB")
        account = int(form.account.data) if (form.account.data or "").isdigit() else None
        summary = import_statement(s, current_location_id(), data, upload.filename or "statement",
                                   form.format.data or None, account, current_user.id,
                                   check_totals=False if form.no_check_totals.data else None)
    except StatementError as exc:
        s.rollback()
        form.file.errors = [str(exc)]
        return _import_page(form, status=400)
    s.commit()
    flash(_("Statement imported: %(new)s new, %(dup)s duplicates, %(matched)s matched, %(unmatched)s unmatched.",
            new=summary.new, dup=summary.duplicates, matched=summary.matched, unmatched=summary.unmatched),
          "success" if summary.new or summary.duplicates else "info")
    return redirect(url_for("billing_payments.import_form"))


@bp.post("/fio")
@permission_required("billing.payments.manage")
def fio_token():  # noqa: ANN201
    """Store a bank account's Fio API token (encrypted) and switch its automatic download on."""
    form = _fio_form()
    valid = form.validate_on_submit()
    if not (form.account.data or "").isdigit():
        form.account.errors = [_("Choose one of the offered values.")]
        valid = False
    if not valid:
        return _import_page(_import_form(), form, 400)
    s = db()
    try:
        link = fio_download.set_token(s, int(form.account.data), form.token.data)
    except fio_download.FioLinkError as exc:
        s.rollback()
        form.token.errors = [str(exc)]
        return _import_page(_import_form(), form, 400)
    s.commit()
    flash(_("Fio token stored (…%(hint)s); new movements are downloaded automatically.", hint=link.token_hint),
          "success")
    return redirect(url_for("billing_payments.import_form"))


@bp.post("/fio/<int:link_id>/off")
@permission_required("billing.payments.manage")
def fio_off(link_id: int):  # noqa: ANN201
    link = db().get(FioLink, link_id)
    if link is None:
        abort(404)
    link.is_active = False
    db().commit()
    flash(_("Automatic download switched off; the token is kept."), "info")
    return redirect(url_for("billing_payments.import_form"))


@bp.get("/pairing")
@permission_required("billing.payments.manage")
def pairing():  # noqa: ANN201
    s = db()
    payments = list(s.scalars(select(Payment).where(Payment.state == "unmatched")
                              .order_by(Payment.received_on, Payment.id).limit(50)))
    hints = {p.id: suggestions(s, p) for p in payments}
    return render_template("billing/payments_pairing.html", payments=payments, hints=hints, pair_form=PairForm(),
                           reason_form=ReasonForm())


@bp.post("/<int:payment_id>/pair")
@permission_required("billing.payments.manage")
def pair(payment_id: int):  # noqa: ANN201
    payment = _payment_or_404(payment_id)
    form = PairForm()
    if not form.validate_on_submit():
        abort(400)
    customer = None
    if (form.customer_id.data or "").isdigit():
        customer = db().get(Customer, int(form.customer_id.data))
    elif form.customer.data:
        customer = _find_customer(form.customer.data)
    if customer is None or customer.location_id != current_location_id():
        flash(_("No customer with this number or variable symbol."), "danger")
        return redirect(url_for("billing_payments.pairing"))
    s = db()
    try:
        service.pair(s, location_id=current_location_id(), payment_id=payment.id, customer_id=customer.id,
                     actor_id=current_user.id, target=form.target.data)
    except service.PaymentError as exc:
        s.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("billing_payments.pairing"))
    s.commit()
    flash(_("Payment paired with %(name)s.", name=customer.display_name), "success")
    return redirect(url_for("billing_payments.pairing"))


def _decide(payment_id: int, action) -> object:  # noqa: ANN001
    payment = _payment_or_404(payment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    s = db()
    try:
        action(s, payment_id=payment.id, actor_id=current_user.id, reason=form.reason.data or "")
    except service.PaymentError as exc:
        s.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("billing_payments.pairing"))
    s.commit()
    return None


@bp.post("/<int:payment_id>/ignore")
@permission_required("billing.payments.manage")
def ignore(payment_id: int):  # noqa: ANN201
    failed = _decide(payment_id, service.ignore)
    if failed is not None:
        return failed
    flash(_("Payment ignored."), "success")
    return redirect(url_for("billing_payments.pairing"))


@bp.post("/<int:payment_id>/refund")
@permission_required("billing.payments.manage")
def refund(payment_id: int):  # noqa: ANN201
    failed = _decide(payment_id, service.refund_unmatched)
    if failed is not None:
        return failed
    flash(_("Payment marked for refund to the sender."), "success")
    return redirect(url_for("billing_payments.pairing"))

