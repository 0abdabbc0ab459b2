"""Opcare pages of the print shop: the production board, an order (file, preflight, history, state
changes, job ticket), and the print side of products (pages, bleed, price rules, advance)."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, abort, flash, redirect, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from mango_core.auth.access import permission_required, public
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import options, save
from mango_core.web.request import db
from mango_print.shop import orders as svc
from mango_print.shop import products
from mango_print.shop.labels import render, state_label
from mango_print.shop.models import STATES
from mango_print.shop.ticket import ticket_pdf

bp = Blueprint("print", __name__, url_prefix="/print", template_folder="../templates")

VIEW, MANAGE, PRODUCTS = "print.orders.view", "print.orders.manage", "print.products.manage"
STATIC = Path(__file__).resolve().parents[1] / "static"
BOARD_STATES = ("preflight_failed", "received", "proof_sent", "approved", "in_production", "finished")


class StateForm(FlaskForm):
    to = SelectField(_l("New state"), choices=[])
    note = TextAreaField(_l("Note for the customer"), validators=[Optional(), Length(max=2000)])


class SpecForm(FlaskForm):
    pages = StringField(_l("Pages of the PDF (empty: any)"), validators=[Optional(), Length(max=4)])
    bleed_mm = StringField(_l("Bleed (mm)"), default="3", validators=[Length(max=5)])
    advance = BooleanField(_l("Advance invoice before production"))
    min_dpi = StringField(_l("Lowest image resolution (dpi)"), default="150", validators=[Length(max=4)])
    rules = TextAreaField(_l("Price rules (JSON)"), validators=[Length(max=20000)])


def _order_or_404(order_id: int):  # noqa: ANN202
    try:
        return svc.get_order(db(), order_id)
    except InvalidValue:
        abort(404)


@bp.get("/static/<path:filename>")
@public
def static(filename: str):  # noqa: ANN201
    """The shop's script (the live price): public code, served from the package."""
    return send_from_directory(STATIC, filename, max_age=3600)


@bp.get("/")
@permission_required(VIEW)
def board():  # noqa: ANN201
    rows = svc.orders(db(), states=BOARD_STATES)
    columns = [(state, state_label(state), [o for o in rows if o.state == state]) for state in BOARD_STATES]
    done = svc.orders(db(), states=("shipped", "picked_up", "cancelled"), limit=50)
    return render("print/board.html", columns=columns, done=done)


@bp.get("/orders/<int:order_id>")
@permission_required(VIEW)
def order(order_id: int):  # noqa: ANN201
    found = _order_or_404(order_id)
    form = StateForm(formdata=None)
    form.to.choices = options([(s, state_label(s)) for s in svc.next_states(found.state, svc.STAFF)])
    product = products.product_of(db(), found.product_id)
    rows = products.order_rows(db(), product, found.params, found.class_version)
    return render("print/order.html", order=found, product=product, rows=rows, form=form,
                  can_manage=has_permission(MANAGE), paid=svc.advance_paid(db(), found) if found.advance else None,
                  advance=svc.advance_view(db(), found))


@bp.post("/orders/<int:order_id>/state")
@permission_required(MANAGE)
def change_state(order_id: int):  # noqa: ANN201
    found = _order_or_404(order_id)
    form = StateForm()
    form.to.choices = options([(s, s) for s in STATES])
    if not form.validate_on_submit():
        flash(_("The form was not accepted; try again."), "danger")
        return redirect(url_for(".order", order_id=found.id))
    actor = svc.Actor(svc.STAFF, user_id=current_user.id)
    # a refused change is flashed (its error names no field of this form)
    save(form, lambda: svc.change_state(db(), found, form.to.data, actor, note=form.note.data),
         _("The order's state was changed."))
    return redirect(url_for(".order", order_id=found.id))


@bp.get("/orders/<int:order_id>/ticket.pdf")
@permission_required(VIEW)
def ticket(order_id: int):  # noqa: ANN201
    found = _order_or_404(order_id)
    pdf = ticket_pdf(db(), found)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="zakazka-{found.id}.pdf"'})


@bp.get("/orders/<int:order_id>/file")
@permission_required(VIEW)
def file(order_id: int):  # noqa: ANN201
    found = _order_or_404(order_id)
    if found.file is None:
        abort(404)
    return Response(found.file.content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="zakazka-{found.id}.pdf"'})


@bp.get("/products")
@permission_required(PRODUCTS)
def product_list():  # noqa: ANN201
    return render("print/products.html", rows=products.print_products(db()))


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@permission_required(PRODUCTS)
def product_spec(product_id: int):  # noqa: ANN201
    session = db()
    found = next((p for p, _s in products.print_products(session) if p.id == product_id), None)
    if found is None:
        abort(404)
    spec = products.spec_of(session, found.id)
    if request.method == "GET":
        form = SpecForm(formdata=None)
        if spec is not None:
            form.pages.data = str(spec.pages or "")
            form.bleed_mm.data = str(spec.bleed_mm)
            form.advance.data = spec.advance
            form.min_dpi.data = str(spec.min_dpi)
            form.rules.data = json.dumps(spec.rules, ensure_ascii=False, indent=2)
        return render("print/product.html", product=found, form=form)
    form = SpecForm()
    if form.validate_on_submit():
        try:
            rules = json.loads(form.rules.data or "{}")
        except ValueError:
            form.rules.errors = [*form.rules.errors, _("The price rules are not valid JSON.")]
        else:
            done = save(form, lambda: products.save_spec(session, found.id, rules=rules, pages=form.pages.data,
                                                         bleed_mm=form.bleed_mm.data, advance=form.advance.data,
                                                         min_dpi=form.min_dpi.data),
                        _("The print product was saved."))
            if done is not None:
                return redirect(url_for(".product_list"))
    return render("print/product.html", product=found, form=form), 400


def render_card(customer) -> str:  # noqa: ANN001
    """The customer card's tab: the customer's print orders, newest first."""
    return render("print/card.html", orders=svc.orders(db(), customer_id=customer.id, limit=200))
