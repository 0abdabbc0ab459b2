"""The shop in the customer portal (blueprint ``print_selfcare`` under ``/selfcare/print``).

Configure a product (the price is recomputed as the customer changes anything: the page asks
:func:`price` for JSON), upload the print-ready PDF and order; the order's page shows the
preflight verdict, takes a corrected file, and lets the customer approve or reject the proof.
Every view is guarded by :func:`customer_required` and names the customer in every query.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _

from mango_core.params import ParamValidationError
from mango_core.selfcare.access import current, current_customer, customer_required
from mango_core.selfcare.forms import ConfirmForm
from mango_core.selfcare.views import use_portal_error_pages
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.forms import save
from mango_core.web.request import db
from mango_print.shop import orders as svc
from mango_print.shop import products
from mango_print.shop.labels import render
from mango_print.shop.models import PREFLIGHT_FAILED, PROOF_SENT, RECEIVED
from mango_print.shop.ticket import ticket_pdf

bp = Blueprint("print_selfcare", __name__, url_prefix="/selfcare/print", template_folder="../templates")
use_portal_error_pages(bp)


def _item_or_404(product_id: int) -> products.PrintProduct:
    if product_id not in {p.id for p in products.for_sale(db(), current().location.id)}:
        abort(404)
    try:
        return products.load(db(), product_id)
    except InvalidValue:  # its class changed under its price rules: not on sale until staff fix them
        abort(404)


def _order_or_404(order_id: int):  # noqa: ANN202
    try:
        return svc.get_order(db(), order_id, customer_id=current_customer().id)
    except InvalidValue:
        abort(404)


def _params() -> dict[str, str]:
    return {k[2:]: v for k, v in request.values.items() if k.startswith("p_")}


@bp.get("/")
@customer_required
def shop():  # noqa: ANN201
    return render("print/selfcare/shop.html", products=products.for_sale(db(), current().location.id),
                  orders=svc.orders(db(), customer_id=current_customer().id, limit=100))


@bp.get("/products/<int:product_id>")
@customer_required
def configure(product_id: int):  # noqa: ANN201
    item = _item_or_404(product_id)
    return _configure_page(item, {}, ConfirmForm())


def _configure_page(item: products.PrintProduct, chosen: dict, form: ConfirmForm, errors: dict | None = None,
                    status: int = 200):  # noqa: ANN202
    # what the form shows at first: the product's defaults, the parameters' defaults, else a choice's first
    # option (what a browser submits for a select nobody touched)
    first = {p.key: p.default if p.default is not None else (p.choices[0][0] if p.choices else None)
             for p in item.defs}
    values = {**{k: v for k, v in first.items() if v is not None}, **(item.product.defaults or {}), **chosen}
    try:
        _values, quote = products.configure(item, values)
    except InvalidValue:
        quote = None
    return render("print/selfcare/configure.html", item=item, values=values, quote=quote, form=form,
                  errors=errors or {}), status


@bp.get("/products/<int:product_id>/price")
@customer_required
def price(product_id: int):  # noqa: ANN201
    """The price of the configuration in the query (``p_<key>=value``) as JSON, or every error."""
    item = _item_or_404(product_id)
    try:
        _values, quote = products.configure(item, _params())
    except ParamValidationError as exc:
        return jsonify(ok=False, errors=exc.errors), 422
    except InvalidValue as exc:
        return jsonify(ok=False, errors={exc.field or "": str(exc)}), 422
    from mango_core.web.i18n import money

    return jsonify(ok=True, quote=quote.to_json(), total_text=money(quote.total),
                   vat_rate=str(item.product.vat_rate))


@bp.post("/products/<int:product_id>/order")
@customer_required
def place(product_id: int):  # noqa: ANN201
    item = _item_or_404(product_id)
    form = ConfirmForm()
    chosen = _params()
    if not form.validate_on_submit():
        return _configure_page(item, chosen, form, status=400)
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    errors: dict[str, str] = {}

    def action():  # noqa: ANN202
        try:
            return svc.place_order(db(), current_customer(), item.product.id, chosen,
                                   filename=upload.filename if upload else "", data=data,
                                   note=request.form.get("note"))
        except ParamValidationError as exc:
            errors.update(exc.errors)
            raise

    done = save(form, action, lambda o: _("Order %(id)d was placed.", id=o.id))
    if done is None:
        return _configure_page(item, chosen, form, errors, status=400)
    return redirect(url_for(".order", order_id=done.value.id))


@bp.get("/orders/<int:order_id>")
@customer_required
def order(order_id: int):  # noqa: ANN201
    found = _order_or_404(order_id)
    product = products.product_of(db(), found.product_id)
    rows = products.order_rows(db(), product, found.params, found.class_version)
    return render("print/selfcare/order.html", order=found, product=product, rows=rows, form=ConfirmForm(),
                  can_upload=found.state in (RECEIVED, PREFLIGHT_FAILED), can_decide=found.state == PROOF_SENT,
                  advance=svc.advance_view(db(), found))


@bp.post("/orders/<int:order_id>/upload")
@customer_required
def upload_file(order_id: int):  # noqa: ANN201
    found = _order_or_404(order_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        sent = request.files.get("file")
        save(form, lambda: svc.upload(db(), found, filename=sent.filename if sent else "",
                                      data=sent.read() if sent else b""), _("The file was uploaded and checked."))
    return redirect(url_for(".order", order_id=found.id))


@bp.post("/orders/<int:order_id>/<any(approve, reject):decision>")
@customer_required
def decide(order_id: int, decision: str):  # noqa: ANN201
    found = _order_or_404(order_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        to = "approved" if decision == "approve" else RECEIVED
        actor = svc.Actor(svc.CUSTOMER, customer_id=current_customer().id)
        message = _("Thank you, the proof is approved.") if to == "approved" else _("We will prepare a new proof.")
        save(form, lambda: svc.change_state(db(), found, to, actor, note=request.form.get("note")), message)
    else:
        flash(_("The form was not accepted; try again."), "danger")
    return redirect(url_for(".order", order_id=found.id))


@bp.get("/orders/<int:order_id>/proof.pdf")
@customer_required
def proof(order_id: int):  # noqa: ANN201
    found = _order_or_404(order_id)
    if found.state in (RECEIVED, PREFLIGHT_FAILED):
        abort(404)
    return Response(ticket_pdf(db(), found, internal=False), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="nahled-{found.id}.pdf"'})
