"""Opcare pages for the parts of a customer: contacts, addresses and custom-field values."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import gettext as _

from mango_core.auth.access import permission_required
from mango_core.customers import fields, forms, service
from mango_core.customers.views import MANAGE, actor, bp, customer_or_404, to_card
from mango_core.params import ParamValidationError
from mango_core.params.forms import build_form, form_values
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.forms import save
from mango_core.web.request import db


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _editable(customer_id: int):  # noqa: ANN202
    customer = customer_or_404(customer_id)
    if customer.anonymised_at is not None:
        abort(404)
    return customer


# --- contacts ----------------------------------------------------------------------------------


def _contact_args(form: forms.ContactForm) -> dict:
    return {"name": form.name.data, "note": form.note.data,
            "roles": [r for r in ("billing", "technical", "owner") if getattr(form, f"role_{r}").data],
            "emails": _lines(form.emails.data), "phones": _lines(form.phones.data)}


@bp.route("/<int:customer_id>/contacts/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def contact_new(customer_id: int):  # noqa: ANN201
    customer = _editable(customer_id)
    form = forms.ContactForm()
    if form.validate_on_submit():
        if save(form, lambda: service.add_contact(db(), customer, actor=actor(), **_contact_args(form)),
                _("Contact added.")):
            return to_card(customer)
    return render_template("customers/contact_form.html", form=form, customer=customer, contact=None), \
        400 if form.errors else 200


@bp.route("/<int:customer_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def contact_edit(customer_id: int, contact_id: int):  # noqa: ANN201
    customer = _editable(customer_id)
    try:
        contact = service.get_contact(db(), customer, contact_id)
    except service.NotFound:
        abort(404)
    form = forms.ContactForm(obj=contact)
    if request.method == "GET":
        form.emails.data = "\n".join(c.value for c in contact.emails)
        form.phones.data = "\n".join(c.value for c in contact.phones)
    if form.validate_on_submit():
        if save(form, lambda: service.update_contact(db(), contact, actor=actor(), **_contact_args(form)),
                _("Saved.")):
            return to_card(customer)
    return render_template("customers/contact_form.html", form=form, customer=customer, contact=contact), \
        400 if form.errors else 200


@bp.post("/<int:customer_id>/contacts/<int:contact_id>/remove")
@permission_required(MANAGE)
def contact_remove(customer_id: int, contact_id: int):  # noqa: ANN201
    customer = _editable(customer_id)
    try:
        contact = service.get_contact(db(), customer, contact_id)
    except service.NotFound:
        abort(404)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    service.remove_contact(db(), contact, actor=actor())
    db().commit()
    flash(_("Contact removed."), "success")
    return to_card(customer)


# --- addresses ---------------------------------------------------------------------------------


def _address_args(form: forms.AddressForm) -> dict:
    return {name: getattr(form, name).data for name in service.ADDRESS_FIELDS}


@bp.route("/<int:customer_id>/addresses/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def address_new(customer_id: int):  # noqa: ANN201
    customer = _editable(customer_id)
    form = forms.AddressForm(kind=request.args.get("kind", "permanent"))
    if form.validate_on_submit():
        if save(form, lambda: service.add_address(db(), customer, actor=actor(), **_address_args(form)),
                _("Address added.")):
            return to_card(customer)
    return render_template("customers/address_form.html", form=form, customer=customer, address=None), \
        400 if form.errors else 200


@bp.route("/<int:customer_id>/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def address_edit(customer_id: int, address_id: int):  # noqa: ANN201
    customer = _editable(customer_id)
    try:
        address = service.get_address(db(), customer, address_id)
    except service.NotFound:
        abort(404)
    form = forms.AddressForm(obj=address)
    if request.method == "GET":
        form.latitude.data = "" if address.latitude is None else str(address.latitude)
        form.longitude.data = "" if address.longitude is None else str(address.longitude)
    if form.validate_on_submit():
        if save(form, lambda: service.update_address(db(), address, actor=actor(), **_address_args(form)),
                _("Saved.")):
            return to_card(customer)
    return render_template("customers/address_form.html", form=form, customer=customer, address=address), \
        400 if form.errors else 200


@bp.post("/<int:customer_id>/addresses/<int:address_id>/remove")
@permission_required(MANAGE)
def address_remove(customer_id: int, address_id: int):  # noqa: ANN201
    customer = _editable(customer_id)
    try:
        address = service.get_address(db(), customer, address_id)
    except service.NotFound:
        abort(404)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    service.remove_address(db(), address, actor=actor())
    db().commit()
    flash(_("Address removed."), "success")
    return to_card(customer)


# --- custom field values -------------------------------------------------------------------------


@bp.route("/<int:customer_id>/custom-fields", methods=["GET", "POST"])
@permission_required(MANAGE)
def custom_fields(customer_id: int):  # noqa: ANN201
    customer = _editable(customer_id)
    defs = list(fields.definitions(db()))
    if not defs:
        abort(404)
    form = build_form(defs, customer.custom_fields or {}, prefix="cf")
    if request.method == "POST" and form.validate_on_submit():
        try:
            fields.set_custom_fields(db(), customer, form_values(form, defs), actor=actor())
        except ParamValidationError as exc:
            db().rollback()
            for key, message in exc.errors.items():
                field = form[f"param_{key}"] if f"param_{key}" in form else None
                if field is not None:
                    field.errors = [*field.errors, message]
                else:
                    flash(message, "danger")
        except InvalidValue as exc:
            db().rollback()
            flash(str(exc), "danger")
        else:
            db().commit()
            flash(_("Saved."), "success")
            return to_card(customer)
    return render_template("customers/custom_fields_form.html", form=form, customer=customer, defs=defs), \
        400 if form.errors else 200
