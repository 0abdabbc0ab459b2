"""Opcare pages of services: the list, a new service from the customer card, the service page with
every lifecycle action, scheduled changes (cancellable) and linked devices.

A service named in a URL is looked up through the tenant-guarded session, so a service of another
location answers 404. Every change is a POST with a CSRF token and goes through
:mod:`mango_core.services.lifecycle` or :mod:`mango_core.services.service`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mango_core.auth.access import permission_required
from mango_core.catalog import service as catalog
from mango_core.customers.models import SERVICE_PLACE, Customer
from mango_core.devices import search as device_search
from mango_core.params import ParamValidationError
from mango_core.params.forms import attach_errors, build_form, form_values
from mango_core.services import forms, lifecycle
from mango_core.services import service as svc
from mango_core.services.models import STATES, TERMINATED, Service
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options
from mango_core.web.request import db

bp = Blueprint("core_services", __name__, url_prefix="/services")

VIEW, MANAGE = "core.services.view", "core.services.manage"
DEVICES_VIEW = "core.devices.view"
LIST_LIMIT = 200


def actor() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _service_or_404(service_id: int) -> Service:
    try:
        return svc.get_service(db(), service_id)
    except svc.NotFound:
        abort(404)


def _customer_or_404(customer_id: int | None) -> Customer:
    customer = db().get(Customer, customer_id) if customer_id else None
    if customer is None:
        abort(404)
    return customer


def _to_detail(service: Service):  # noqa: ANN202
    return redirect(url_for("core_services.detail", service_id=service.id))


def _flash_form_errors(form: FlaskForm) -> None:
    for name, errors in form.errors.items():
        label = getattr(form, name).label.text if hasattr(form, name) else name
        for error in errors:
            flash(f"{label}: {error}", "danger")


def _locale_text(pdef, value) -> str:  # noqa: ANN001
    from flask_babel import get_locale

    try:
        return pdef.display(pdef.from_json(value), str(get_locale()))
    except InvalidValue:
        return str(value)


# --- list and the customer's tab --------------------------------------------------------------------


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    state = request.args.get("state") if request.args.get("state") in STATES else None
    stmt = select(Service).order_by(Service.id.desc()).limit(LIST_LIMIT)
    if state:
        stmt = stmt.where(Service.state == state)
    rows = list(db().scalars(stmt))
    customers = {c.id: c for c in db().scalars(select(Customer).where(Customer.id.in_({r.customer_id for r in rows})))}
    return render_template("services/list.html", rows=rows, customers=customers, state=state,
                           states=forms.state_labels(), limit=LIST_LIMIT)


def render_customer_tab(customer: Customer) -> str:
    """The "Services" tab of the customer card."""
    session = db()
    return render_template("services/customer_tab.html", customer=customer,
                           rows=svc.services_of_customer(session, customer.id), states=forms.state_labels(),
                           can_manage=has_permission(MANAGE) and customer.anonymised_at is None)


# --- new service -----------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new():  # noqa: ANN201
    session = db()
    customer = _customer_or_404(request.args.get("customer_id", type=int))
    product_id = request.args.get("product_id", type=int)
    on = date.today()
    offered = catalog.products_for_sale(session, customer.location_id, on)
    product = next((p for p in offered if p.id == product_id), None)
    if product is None:
        return render_template("services/new_product.html", customer=customer, products=offered)
    defs = catalog.definitions(session, product.service_class)
    form = forms.NewServiceForm()
    places = [a for a in customer.addresses if a.kind == SERVICE_PLACE]
    form.service_place_id.choices = options([("", "—")] + [(str(a.id), a.one_line) for a in places])
    # the class's defaults, then the product's (a tariff says its speeds)
    initial = {pdef.key: pdef.to_json(pdef.default) for pdef in defs} | dict(product.defaults or {})
    params = build_form(defs, initial, prefix="p", meta={"csrf": False}, resolvers=svc.resolvers(session))
    if request.method == "GET":
        form.start_date.data = on
    if request.method == "POST" and form.validate_on_submit() & params.validate():
        try:
            created = svc.create_service(
                session, customer_id=customer.id, product_id=product.id, params=form_values(params, defs),
                price=form.price.data, start_date=form.start_date.data, commitment_until=form.commitment_until.data,
                service_place_id=form.service_place_id.data or None, payment_period_months=form.payment_period.data,
                note=form.note.data, activate=form.activate.data, actor=actor())
        except ParamValidationError as exc:
            session.rollback()
            for rest in attach_errors(params, exc.errors).values():
                flash(rest, "danger")
        except InvalidValue as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Service created."), "success")
            return _to_detail(created)
    failed = bool(form.errors or params.errors)
    return render_template("services/new.html", customer=customer, product=product, form=form, params=params,
                           defs=defs), 400 if failed else 200


# --- the service page ------------------------------------------------------------------------------


@bp.get("/<int:service_id>")
@permission_required(VIEW)
def detail(service_id: int):  # noqa: ANN201
    session = db()
    service = _service_or_404(service_id)
    defs = catalog.definitions(session, service.product.service_class, service.class_version)
    current_version = service.product.service_class.version
    product_form = forms.ProductChangeForm(prefix="product")
    product_form.product_id.choices = options([(p.id, f"{p.code} {p.name}") for p in
                                               catalog.products_for_sale(session, service.location_id)
                                               if p.id != service.product_id])
    return render_template(
        "services/detail.html", service=service, customer=service.customer, defs=defs,
        current_version=current_version, locale_text=_locale_text,
        scheduled=svc.scheduled_changes(session, service), log=svc.change_log(session, service, 30),
        successor=lifecycle.transferred_to(session, service),
        predecessor=session.get(Service, service.transferred_from_id) if service.transferred_from_id else None,
        states=forms.state_labels(), block_kinds=forms.block_kind_labels(), kinds=forms.kind_labels(),
        change_states=forms.change_state_labels(), periods=dict(forms.period_choices()),
        can_manage=has_permission(MANAGE) and service.state != TERMINATED,
        activate_form=forms.ChangeForm(prefix="activate"), terminate_form=forms.TerminateForm(prefix="terminate"), block_form=forms.BlockForm(prefix="block"),
        unblock_form=forms.BlockForm(prefix="unblock"), product_form=product_form, transfer_form=forms.TransferForm(prefix="transfer"),
        commitment_form=forms.CommitmentForm(prefix="commitment", commitment_until=service.commitment_until),
        price_form=forms.PriceForm(prefix="price", price="" if service.price is None else format(service.price, "f")),
        plan_form=forms.BillingPlanForm(prefix="plan", billing_plan="" if service.billing_plan is None else service.billing_plan),
        period_form=forms.PaymentPeriodForm(prefix="period", payment_period=str(service.payment_period or "")),
        device_form=forms.DeviceForm(), confirm=forms.ConfirmForm(), today=date.today(),
        can_pick_devices=has_permission(DEVICES_VIEW), **_device_picker(service),
    )


def _device_picker(service: Service) -> dict[str, Any]:
    """The picker's query (``device_q``) and its matches of the current location; linked ones are marked."""
    query = request.args.get("device_q", "").strip()[:device_search.MAX_QUERY]
    matches, more = ([], False)
    if query and has_permission(DEVICES_VIEW) and has_permission(MANAGE):
        matches, more = device_search.lookup(db(), query)
    return {"device_q": query, "device_matches": matches, "device_more": more,
            "linked_ids": {link.device_id for link in service.device_links}}


def _act(service: Service, form: FlaskForm, call: Callable[[], Any]):  # noqa: ANN202
    """Validate the form, run the operation, commit, and say whether it was done or scheduled."""
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _to_detail(service)
    try:
        change = call()
    except InvalidValue as exc:
        db().rollback()
        flash(str(exc), "danger")
    else:
        db().commit()
        if getattr(change, "state", None) == "scheduled":
            flash(_("The change is scheduled for %(day)s.", day=change.effective.strftime("%d. %m. %Y")), "info")
        else:
            flash(_("Done."), "success")
    return _to_detail(service)


def _common(form: forms.ChangeForm) -> dict[str, Any]:
    return {"effective": form.effective.data, "actor": actor(), "reason": form.reason.data}


@bp.post("/<int:service_id>/activate")
@permission_required(MANAGE)
def activate(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.ChangeForm(prefix="activate")
    return _act(service, form, lambda: lifecycle.activate(db(), service, **_common(form)))


@bp.post("/<int:service_id>/terminate")
@permission_required(MANAGE)
def terminate(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.TerminateForm(prefix="terminate")
    return _act(service, form, lambda: lifecycle.terminate(db(), service, **_common(form)))


@bp.post("/<int:service_id>/block")
@permission_required(MANAGE)
def block(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.BlockForm(prefix="block")
    return _act(service, form, lambda: lifecycle.block(db(), service, form.kind.data, **_common(form)))


@bp.post("/<int:service_id>/unblock")
@permission_required(MANAGE)
def unblock(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.BlockForm(prefix="unblock")
    return _act(service, form, lambda: lifecycle.unblock(db(), service, form.kind.data, **_common(form)))


@bp.post("/<int:service_id>/product")
@permission_required(MANAGE)
def change_product(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.ProductChangeForm(prefix="product")
    form.product_id.choices = options([(p.id, p.code) for p in catalog.products_for_sale(
        db(), service.location_id, form.effective.data)])
    return _act(service, form, lambda: lifecycle.change_product(db(), service, form.product_id.data,
                                                                keep_price=form.keep_price.data, **_common(form)))


@bp.post("/<int:service_id>/transfer")
@permission_required(MANAGE)
def transfer(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.TransferForm(prefix="transfer")

    def call() -> Any:
        target = db().scalar(select(Customer.id).where(Customer.number == form.customer_number.data))
        if target is None:
            raise svc.ServiceError(_("No customer with number %(number)s here.", number=form.customer_number.data))
        return lifecycle.transfer(db(), service, target, **_common(form))

    return _act(service, form, call)


@bp.post("/<int:service_id>/commitment")
@permission_required(MANAGE)
def commitment(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.CommitmentForm(prefix="commitment")
    return _act(service, form, lambda: lifecycle.shift_commitment(db(), service, form.commitment_until.data,
                                                                  **_common(form)))


@bp.post("/<int:service_id>/price")
@permission_required(MANAGE)
def price(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.PriceForm(prefix="price")
    return _act(service, form, lambda: lifecycle.change_price(db(), service, (form.price.data or "").strip() or None,
                                                              **_common(form)))


@bp.post("/<int:service_id>/billing-plan")
@permission_required(MANAGE)
def billing_plan(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.BillingPlanForm(prefix="plan")
    return _act(service, form, lambda: lifecycle.change_billing_plan(
        db(), service, (form.billing_plan.data or "").strip() or None, **_common(form)))


@bp.post("/<int:service_id>/payment-period")
@permission_required(MANAGE)
def payment_period(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.PaymentPeriodForm(prefix="period")
    return _act(service, form, lambda: lifecycle.change_payment_period(db(), service, form.payment_period.data or None,
                                                                       **_common(form)))


@bp.route("/<int:service_id>/params", methods=["GET", "POST"])
@permission_required(MANAGE)
def params(service_id: int):  # noqa: ANN201
    """Change parameter values; the form shows the class's current version (the service moves to it)."""
    session = db()
    service = _service_or_404(service_id)
    if service.state == TERMINATED:
        abort(404)
    defs = catalog.definitions(session, service.product.service_class)
    # required values are checked by the service (with every other error at once)
    optional = [dataclasses.replace(p, required=False) for p in defs]
    pform = build_form(optional, service.params, prefix="p", meta={"csrf": False}, resolvers=svc.resolvers(session))
    form = forms.ChangeForm()
    if request.method == "POST" and form.validate_on_submit() & pform.validate():
        try:
            lifecycle.change_params(session, service, form_values(pform, defs), **_common(form))
        except InvalidValue as exc:
            session.rollback()
            errors = getattr(exc.__cause__, "errors", None)
            rest = attach_errors(pform, errors) if errors else {"": str(exc)}
            for message in rest.values():
                flash(message, "danger")
        else:
            session.commit()
            flash(_("Saved."), "success")
            return _to_detail(service)
    return render_template("services/params.html", service=service, form=form, params=pform, defs=defs), \
        400 if (form.errors or pform.errors) else 200


@bp.post("/<int:service_id>/changes/<int:change_id>/cancel")
@permission_required(MANAGE)
def cancel_change(service_id: int, change_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    try:
        change = lifecycle.get_change(db(), service, change_id)
    except svc.NotFound:
        abort(404)
    return _act(service, forms.ConfirmForm(), lambda: lifecycle.cancel(db(), change, actor=actor()))


@bp.post("/<int:service_id>/devices")
@permission_required(MANAGE)
def link_device(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = forms.DeviceForm()
    return _act(service, form, lambda: svc.link_device(db(), service, form.device_id.data, actor=actor()))


@bp.get("/<int:service_id>/devices/matches")
@permission_required(MANAGE)
def device_matches(service_id: int):  # noqa: ANN201
    """The picker's results alone (htmx swaps them in while the user types)."""
    service = _service_or_404(service_id)
    if not has_permission(DEVICES_VIEW):
        abort(403)
    return render_template("services/_device_matches.html", service=service, device_form=forms.DeviceForm(),
                           **_device_picker(service))


@bp.post("/<int:service_id>/devices/<int:device_id>/remove")
@permission_required(MANAGE)
def unlink_device(service_id: int, device_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    return _act(service, forms.ConfirmForm(), lambda: svc.unlink_device(db(), service, device_id, actor=actor()))

