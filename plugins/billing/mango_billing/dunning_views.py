"""Opcare pages of dunning and uniCredit (blueprint ``billing_dunning`` under ``/billing/dunning``).

* ``/`` — the dry-run list (what dunning would do today) with a confirm button that acts on the
  ticked proposals (checked again against a fresh plan), and the latest actions;
* ``/steps`` — the location's steps; ``/terminations`` — customers proposed for termination;
* ``/disputes`` — disputed invoices (left out of dunning until resolved);
* ``/customers/<id>`` — a customer's uniCredit (balance, top-up symbol, cash/card top-up, return
  of the rest) and the never-block flag.

Objects named in a URL are looked up through the tenant-guarded session (another location's
answer 404); every change is a POST with a CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mango_billing import dunning, prepaid
from mango_billing.models import DunningStep, Invoice, InvoiceDispute, LedgerEntry
from mango_core.auth.access import permission_required
from mango_core.customers.models import Customer
from mango_core.services.errors import ServiceError
from mango_core.web.access import has_permission
from mango_core.web.request import db

bp = Blueprint("billing_dunning", __name__, url_prefix="/billing/dunning", template_folder="templates")

MANAGE = "billing.dunning.manage"
PAYMENTS_VIEW, PAYMENTS_MANAGE = "billing.payments.view", "billing.payments.manage"


class CsrfForm(FlaskForm):
    """Only the CSRF token: the service functions check the fields and say what is wrong."""


def _actor() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _checked_post() -> None:
    if not CsrfForm().validate_on_submit():
        abort(400)


def _save(change: Callable[[], object], back: str, done: str, failed: Callable[[str], str] | None = None):  # noqa: ANN202
    """Make a dunning change: commit and say ``done``, or roll back and say why; then back to ``back``."""
    session = db()
    try:
        change()
    except dunning.DunningError as exc:
        session.rollback()
        flash(failed(str(exc)) if failed else str(exc), "danger")
        return redirect(url_for(back)), 303
    session.commit()
    flash(done, "success")
    return redirect(url_for(back))


def _action_labels() -> dict[str, str]:
    return {"reminder": _("Reminder"), "block": _("Block of services"),
            "termination_proposal": _("Termination proposal")}


def _customer_or_404(customer_id: int) -> Customer:
    customer = db().get(Customer, customer_id)
    if customer is None:
        abort(404)
    return customer


def _step_or_404(step_id: int) -> DunningStep:
    step = db().get(DunningStep, step_id)
    if step is None:
        abort(404)
    return step


# --- the plan -------------------------------------------------------------------------------------


@bp.get("/")
@permission_required(MANAGE)
def index():  # noqa: ANN201
    session = db()
    return render_template("billing/dunning_index.html", proposals=dunning.plan(session, date.today()),
                           steps=dunning.steps(session), actions=dunning.recent_actions(session, 50),
                           labels=_action_labels(), form=CsrfForm())


@bp.post("/execute")
@permission_required(MANAGE)
def execute():  # noqa: ANN201
    _checked_post()
    session = db()
    wanted = set(request.form.getlist("proposal"))
    chosen = [p for p in dunning.plan(session, date.today()) if p.key in wanted]
    if not chosen:
        flash(_("Tick at least one proposal."), "warning")
        return redirect(url_for(".index"))
    result = dunning.execute(session, chosen, date.today(), actor=_actor())
    session.commit()
    flash(_("Dunning done: %(reminders)s reminders, %(blocks)s blocks, %(terminations)s termination proposals, "
            "%(skipped)s skipped.", reminders=result.reminders, blocks=result.blocks,
            terminations=result.terminations, skipped=result.skipped), "success")
    for _key, message in result.failed:
        flash(message, "danger")
    return redirect(url_for(".index"))


# --- steps -------------------------------------------------------------------------------------


@bp.get("/steps")
@permission_required(MANAGE)
def steps():  # noqa: ANN201
    return render_template("billing/dunning_steps.html", steps=dunning.steps(db()), labels=_action_labels(),
                           form=CsrfForm())


def _step_values() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in ("position", "days", "action", "name", "fee",
                                                          "minimum_debt")}


@bp.post("/steps")
@permission_required(MANAGE)
def step_create():  # noqa: ANN201
    _checked_post()
    return _save(lambda: dunning.save_step(db(), **_step_values()), ".steps", _("Dunning step saved."),
                 lambda error: _("The step was not saved: %(error)s", error=error))


@bp.post("/steps/<int:step_id>")
@permission_required(MANAGE)
def step_update(step_id: int):  # noqa: ANN201
    _checked_post()
    step = _step_or_404(step_id)
    return _save(lambda: dunning.save_step(db(), step=step, **_step_values()), ".steps", _("Dunning step saved."),
                 lambda error: _("The step was not saved: %(error)s", error=error))


@bp.post("/steps/<int:step_id>/delete")
@permission_required(MANAGE)
def step_delete(step_id: int):  # noqa: ANN201
    _checked_post()
    step = _step_or_404(step_id)
    return _save(lambda: dunning.delete_step(db(), step), ".steps", _("Dunning step deleted."),
                 lambda error: _("The step was not deleted: %(error)s", error=error))


@bp.post("/steps/defaults")
@permission_required(MANAGE)
def step_defaults():  # noqa: ANN201
    _checked_post()
    return _save(lambda: dunning.create_default_steps(db()), ".steps", _("The usual dunning steps were created."))


@bp.get("/terminations")
@permission_required(MANAGE)
def terminations():  # noqa: ANN201
    return render_template("billing/dunning_terminations.html", rows=dunning.termination_proposals(db()))


# --- disputes ---------------------------------------------------------------------------------


@bp.get("/disputes")
@permission_required(MANAGE)
def disputes():  # noqa: ANN201
    rows = db().execute(select(InvoiceDispute, Invoice.number, Customer)
                        .join(Invoice, Invoice.id == InvoiceDispute.invoice_id)
                        .join(Customer, Customer.id == Invoice.customer_id)
                        .where(InvoiceDispute.resolved_at.is_(None))
                        .order_by(InvoiceDispute.opened_at.desc())).all()
    return render_template("billing/dunning_disputes.html", rows=rows, form=CsrfForm())


@bp.post("/disputes")
@permission_required(MANAGE)
def dispute_open():  # noqa: ANN201
    _checked_post()
    session = db()
    number = request.form.get("number", "").strip()
    invoice = session.scalar(select(Invoice).where(Invoice.number == number)) if number else None
    if invoice is None:
        flash(_("No invoice with this number in this location."), "danger")
        return redirect(url_for(".disputes")), 303
    return _save(lambda: dunning.open_dispute(session, invoice, request.form.get("reason", ""), actor=_actor()),
                 ".disputes", _("The invoice is disputed: dunning leaves it alone."))


@bp.post("/disputes/<int:dispute_id>/resolve")
@permission_required(MANAGE)
def dispute_resolve(dispute_id: int):  # noqa: ANN201
    _checked_post()
    dispute = db().get(InvoiceDispute, dispute_id)
    if dispute is None:
        abort(404)
    return _save(lambda: dunning.resolve_dispute(db(), dispute, actor=_actor(), note=request.form.get("note")),
                 ".disputes", _("The dispute is resolved."))


# --- a customer's uniCredit and never-block ---------------------------------------------------


@bp.get("/customers/<int:customer_id>")
@permission_required(PAYMENTS_VIEW)
def customer(customer_id: int):  # noqa: ANN201
    session = db()
    found = _customer_or_404(customer_id)
    prof = dunning.profile(session, found.id)
    entries = list(session.scalars(select(LedgerEntry).where(LedgerEntry.customer_id == found.id,
                                                             LedgerEntry.account == "prepaid")
                                   .order_by(LedgerEntry.id.desc()).limit(100)))
    return render_template("billing/dunning_customer.html", customer=found, profile=prof,
                           balance=prepaid.balance(session, found.id), entries=entries,
                           services=prepaid.prepaid_services(session, found.id), form=CsrfForm(),
                           can_manage=has_permission(PAYMENTS_MANAGE), can_dun=has_permission(MANAGE))


@bp.post("/customers/<int:customer_id>/never-block")
@permission_required(MANAGE)
def never_block(customer_id: int):  # noqa: ANN201
    _checked_post()
    session = db()
    found = _customer_or_404(customer_id)
    dunning.set_never_block(session, found, request.form.get("never_block") == "1", actor=_actor(),
                            reason=request.form.get("reason"))
    session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for(".customer", customer_id=found.id))


@bp.post("/customers/<int:customer_id>/symbol")
@permission_required(PAYMENTS_MANAGE)
def symbol(customer_id: int):  # noqa: ANN201
    _checked_post()
    session = db()
    found = _customer_or_404(customer_id)
    prepaid.ensure_prepaid_symbol(session, found)
    session.commit()
    return redirect(url_for(".customer", customer_id=found.id))


@bp.post("/customers/<int:customer_id>/topup")
@permission_required(PAYMENTS_MANAGE)
def topup(customer_id: int):  # noqa: ANN201
    _checked_post()
    session = db()
    found = _customer_or_404(customer_id)
    try:
        prepaid.topup(session, found, request.form.get("amount", ""), request.form.get("method", ""),
                      actor=_actor())
    except (prepaid.PrepaidError, ServiceError) as exc:
        session.rollback()
        flash(_("The top-up was not recorded: %(error)s", error=str(exc)), "danger")
        return redirect(url_for(".customer", customer_id=found.id)), 303
    session.commit()
    flash(_("The credit was topped up."), "success")
    return redirect(url_for(".customer", customer_id=found.id))


@bp.post("/customers/<int:customer_id>/refund")
@permission_required(PAYMENTS_MANAGE)
def refund(customer_id: int):  # noqa: ANN201
    _checked_post()
    session = db()
    found = _customer_or_404(customer_id)
    try:
        payment = prepaid.refund_remaining(session, found, method=request.form.get("method", "bank_transfer"),
                                           actor=_actor(), reason=request.form.get("reason"))
    except prepaid.PrepaidError as exc:
        session.rollback()
        flash(_("Nothing was returned: %(error)s", error=str(exc)), "danger")
        return redirect(url_for(".customer", customer_id=found.id)), 303
    session.commit()
    if payment is None:
        flash(_("There is no credit to return."), "info")
    else:
        flash(_("The rest of the credit is to be paid out: %(amount)s.", amount=-payment.amount), "success")
    return redirect(url_for(".customer", customer_id=found.id))
