"""Opcare pages of customers: list and search, create/edit, the card and its actions.

Customers named in a URL are looked up through the tenant-guarded session, so a customer of
another location answers 404. Every change is a POST with a CSRF token and goes through
:mod:`mango_core.customers.service`; its errors come back as form errors in the user's language.
Contacts, addresses and custom fields have their own modules of pages on the same blueprint.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mango_core.auth.access import permission_required
from mango_core.customers import forms, search, service
from mango_core.customers.card import PANEL, TAB, card_parts
from mango_core.customers.models import KINDS, STATES, Customer
from mango_core.customers.normalize import phone_display
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, save
from mango_core.web.menu import MenuItem
from mango_core.web.request import db

bp = Blueprint("core_customers", __name__, url_prefix="/customers")
bp.add_app_template_filter(phone_display, "phone")

MENU = [
    MenuItem(_l("Customers"), "core_customers.index", "core.customers.view", section="customers", order=10,
             icon="people-fill"),
    MenuItem(_l("Custom fields"), "core_customers.fields_page", "core.customer_fields.manage", section="customers",
             order=90, icon="ui-checks"),
]

VIEW, MANAGE = "core.customers.view", "core.customers.manage"


# --- helpers (also used by the other page modules of this blueprint) --------------------------------


def customer_or_404(customer_id: int) -> Customer:
    try:
        return service.get_customer(db(), customer_id)
    except service.NotFound:
        abort(404)


def flash_form_errors(form: FlaskForm) -> None:
    for name, errors in form.errors.items():
        label = getattr(form, name).label.text if hasattr(form, name) else name
        for error in errors:
            flash(f"{label}: {error}", "danger")


def actor() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def to_card(customer: Customer, tab: str | None = None):  # noqa: ANN201
    return redirect(url_for("core_customers.card", customer_id=customer.id, tab=tab))


# --- list --------------------------------------------------------------------------------------


def _filters() -> search.Filters:
    args = request.args
    state = args.get("state") if args.get("state") in STATES else None
    tag = args.get("tag", "")
    structure = args.get("structure") if args.get("structure") in ("parents", "children", "top") else None
    sort = args.get("sort") if args.get("sort") in search.SORTS else "name"
    return search.Filters(query=args.get("q", "").strip()[:200], state=state,
                          tag_id=int(tag) if tag.isdigit() else None, structure=structure, sort=sort)


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    filters = _filters()
    page = search.list_customers(db(), filters, after=request.args.get("after"))
    if filters.query and len(page.items) == 1 and not request.args.get("after"):
        return to_card(page.items[0])  # one hit: straight to the card, as a search box should
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_template("customers/list.html", page=page, filters=filters, tags=service.list_tags(db()),
                           args=args, states=forms.state_labels(), can_manage=has_permission(MANAGE))


# --- create / edit -----------------------------------------------------------------------------


def _customer_data(form: forms.CustomerForm) -> dict[str, Any]:
    return {name: getattr(form, name).data for name in service.FIELDS}


def _kind_from_url(form: forms.CustomerForm) -> None:
    """The person/company switch of the form is a plain link (?kind=company): no script needed."""
    if request.method == "GET" and request.args.get("kind") in KINDS:
        form.kind.data = request.args["kind"]


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new():  # noqa: ANN201
    form = forms.CustomerForm()
    _kind_from_url(form)
    if form.validate_on_submit():
        if saved := save(form, lambda: service.create_customer(db(), actor=actor(), reason=form.reason.data,
                                                               **_customer_data(form)),
                         lambda customer: _("Customer %(number)s created.", number=customer.number)):
            return to_card(saved.value)
    return render_template("customers/form.html", form=form, customer=None), 400 if form.errors else 200


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit(customer_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    if customer.anonymised_at is not None:
        flash(_("An anonymised customer cannot be changed."), "warning")
        return to_card(customer)
    form = forms.CustomerForm(obj=customer)
    _kind_from_url(form)
    if form.validate_on_submit():
        try:
            changes = service.update_customer(db(), customer, actor=actor(), reason=form.reason.data,
                                              **_customer_data(form))
        except InvalidValue as exc:
            db().rollback()
            form_error(form, exc)
        else:
            db().commit()
            flash(_("Saved.") if changes else _("Nothing changed."), "success" if changes else "info")
            return to_card(customer)
    return render_template("customers/form.html", form=form, customer=customer), 400 if form.errors else 200


# --- the card ----------------------------------------------------------------------------------


@bp.get("/<int:customer_id>")
@permission_required(VIEW)
def card(customer_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    parts = card_parts(customer)
    tabs = [p for p in parts if p.kind == TAB]
    active = request.args.get("tab", "overview")
    tab = next((t for t in tabs if t.key == active), None)
    if active != "overview" and tab is None:
        abort(404)
    context: dict[str, Any] = {"customer": customer, "tabs": tabs, "active": active,
                               "can_manage": has_permission(MANAGE), "states": forms.state_labels(),
                               "kinds": forms.kind_labels(), "roles": forms.role_labels(),
                               "address_kinds": forms.address_kind_labels()}
    if tab is not None:
        context["tab_html"] = tab.render(customer)
    else:
        from mango_core.customers import fields

        session = db()
        context.update(
            panels=[(p, p.render(customer)) for p in parts if p.kind == PANEL],
            notes=service.list_notes(session, customer, limit=20),
            children=list(session.scalars(select(Customer).where(Customer.parent_id == customer.id)
                                          .order_by(Customer.sort_name).limit(100))),
            custom_defs=list(fields.definitions(session)),
            state_form=forms.StateForm(on=date.today()),
            parent_form=forms.ParentForm(parent_number=customer.parent.number if customer.parent else None,
                                         bill_to_parent=customer.bill_to_parent),
            note_form=forms.NoteForm(), tag_form=forms.TagForm(), anonymise_form=forms.AnonymiseForm(),
            confirm=forms.ConfirmForm(), locale_text=_locale_text,
        )
    return render_template("customers/card.html", **context)


def _locale_text(pdef, value) -> str:  # noqa: ANN001
    from flask_babel import get_locale

    try:
        return pdef.display(pdef.from_json(value), str(get_locale()))
    except InvalidValue:
        return str(value)


def _act(customer: Customer, call, success: str, tab: str | None = None):  # noqa: ANN001, ANN201
    """Run a service call, commit on success, flash the outcome, back to the card."""
    try:
        changes = call()
    except InvalidValue as exc:
        db().rollback()
        flash(str(exc), "danger")
    else:
        db().commit()
        if changes == {}:
            flash(_("Nothing changed."), "info")
        else:
            flash(success, "success")
    return to_card(customer, tab)


@bp.post("/<int:customer_id>/state")
@permission_required(MANAGE)
def change_state(customer_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    form = forms.StateForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return to_card(customer)
    return _act(customer, lambda: service.change_state(db(), customer, form.state.data, on=form.on.data,
                                                       actor=actor(), reason=form.reason.data),
                _("State changed."))


@bp.post("/<int:customer_id>/parent")
@permission_required(MANAGE)
def set_parent(customer_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    form = forms.ParentForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return to_card(customer)
    parent_id = None
    if form.parent_number.data is not None:
        parent_id = db().scalar(select(Customer.id).where(Customer.number == form.parent_number.data))
        if parent_id is None:
            flash(_("No customer with number %(number)s here.", number=form.parent_number.data), "danger")
            return to_card(customer)
    return _act(customer, lambda: service.set_parent(db(), customer, parent_id,
                                                     bill_to_parent=form.bill_to_parent.data,
                                                     actor=actor(), reason=form.reason.data),
                _("Customer structure saved."))


@bp.post("/<int:customer_id>/tags")
@permission_required(MANAGE)
def add_tag(customer_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    form = forms.TagForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return to_card(customer)
    return _act(customer, lambda: service.add_tag(db(), customer, form.name.data, actor=actor()),
                _("Tag added."))


@bp.post("/<int:customer_id>/tags/<int:tag_id>/remove")
@permission_required(MANAGE)
def remove_tag(customer_id: int, tag_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    return _act(customer, lambda: service.remove_tag(db(), customer, tag_id, actor=actor()), _("Tag removed."))


@bp.post("/<int:customer_id>/notes")
@permission_required(MANAGE)
def add_note(customer_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    form = forms.NoteForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return to_card(customer)
    return _act(customer, lambda: service.add_note(db(), customer, form.text.data, actor=actor()),
                _("Note added."))


@bp.post("/<int:customer_id>/anonymise")
@permission_required(MANAGE)
def anonymise(customer_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    form = forms.AnonymiseForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return to_card(customer)
    return _act(customer, lambda: service.anonymise(db(), customer, actor=actor(), reason=form.reason.data),
                _("Personal data of the customer were erased."))


def _register_parts() -> None:
    """The contact, address and custom-field pages add their routes to this blueprint."""
    from mango_core.customers import field_views, part_views  # noqa: F401


_register_parts()
