"""Opcare pages of the stock: warehouses with their levels, articles, receiving, end devices with
their movement history, and the movement forms (of an item, or of a quantity in a warehouse).

Objects named in a URL are looked up through the tenant-guarded session (another location's
answer 404); every change is a POST with a CSRF token and goes through
:mod:`mango_isp.stock.service`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from mango_core.auth.access import permission_required
from mango_core.customers.models import Customer
from mango_core.devices import service as devices
from mango_core.tenancy.validators import N_, InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options
from mango_core.web.request import db
from mango_isp.ipam.assignments import get_service
from mango_isp.stock import service as stock
from mango_isp.stock.models import CATEGORIES, ITEM_STATES

bp = Blueprint("isp_stock", __name__, url_prefix="/isp/stock", template_folder="../templates")

VIEW, MANAGE = "isp.stock.view", "isp.stock.manage"


def category_labels() -> dict[str, str]:
    return {"router": _l("router"), "ont": _l("ONT"), "stb": _l("set-top box"), "spare": _l("spare part"),
            "other": _l("other")}


def state_labels() -> dict[str, str]:
    return {"in_stock": _l("in stock"), "at_customer": _l("at a customer"), "at_technician": _l("with a technician"),
            "written_off": _l("written off")}


def kind_labels() -> dict[str, str]:
    return {"received": _l("received"), "issued_customer": _l("issued to a customer"),
            "issued_technician": _l("issued to a technician"), "returned": _l("returned"),
            "written_off": _l("written off"), "transferred": _l("moved to another warehouse")}


def action_labels() -> dict[str, str]:
    return {"issue_customer": _l("Issue to a customer"), "issue_technician": _l("Issue to a technician"),
            "return": _l("Return into a warehouse"), "transfer": _l("Move to another warehouse"),
            "write_off": _l("Write off")}


# --- forms ----------------------------------------------------------------------------------------


class WarehouseForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    site_id = SelectField(_l("Site"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    is_active = BooleanField(_l("In use"), default=True)


class ArticleForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=30)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    serialised = BooleanField(_l("Pieces have serial numbers"))
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=10)], default="ks")
    is_active = BooleanField(_l("In use"), default=True)

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.category.choices = options([(c, category_labels()[c]) for c in CATEGORIES])


class ReceiveForm(FlaskForm):
    warehouse_id = SelectField(_l("Warehouse"), choices=[], validate_choice=False)
    article_id = SelectField(_l("Article"), choices=[], validate_choice=False)
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    mac = StringField(_l("MAC address"), validators=[Optional(), Length(max=40)])
    quantity = StringField(_l("Quantity"), validators=[Optional(), Length(max=7)], default="1")
    configured_by_mango = BooleanField(_l("Configured by Mango"))
    reference = StringField(_l("Delivery note"), validators=[Optional(), Length(max=100)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])


class MoveForm(FlaskForm):
    """A movement of an item (``article_id`` and ``quantity`` unused) or of a quantity."""

    action = SelectField(_l("Movement"), choices=[], validate_choice=False)
    article_id = SelectField(_l("Article"), choices=[], validate_choice=False)
    quantity = StringField(_l("Quantity"), validators=[Optional(), Length(max=7)], default="1")
    customer_number = StringField(_l("Customer number"), validators=[Optional(), Length(max=12)])
    service_id = StringField(_l("Service number"), validators=[Optional(), Length(max=12)])
    technician_id = SelectField(_l("Technician"), choices=[], validate_choice=False)
    warehouse_id = SelectField(_l("Warehouse"), choices=[], validate_choice=False)
    register_device = BooleanField(_l("Register as a network device"), default=True)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.action.choices = options(list(action_labels().items()))


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


# --- helpers --------------------------------------------------------------------------------------


def _or_404(call, *args):  # noqa: ANN001, ANN002, ANN202
    try:
        return call(db(), *args)
    except stock.NotFound:
        abort(404)


def _site_choices() -> list:
    return options([("", "—")] + [(str(s.id), s.name) for s in devices.list_sites(db())])


def _fill_move_form(form: MoveForm, *, exclude_warehouse: int | None = None) -> None:
    session = db()
    form.technician_id.choices = options([("", "—")] + [(str(u.id), u.name) for u in stock.technicians(session)])
    form.warehouse_id.choices = options([("", "—")] + [(str(w.id), str(w)) for w in stock.list_warehouses(
        session, active_only=True) if w.id != exclude_warehouse])
    form.article_id.choices = options([(str(a.id), str(a)) for a in stock.list_articles(session, active_only=True)
                                       if not a.serialised])


def _customer_and_service(form: MoveForm) -> tuple[Any, Any]:
    """(customer id, service id) from the form: a service names its customer, else the number."""
    session = db()
    service_text = (form.service_id.data or "").strip().lstrip("#")
    if service_text:
        service = get_service(session, service_text)
        return service.customer_id, service.id
    number = (form.customer_number.data or "").strip()
    if not number.isascii() or not number.isdigit() or len(number) > 9:
        raise stock.StockError(N_("Enter the customer's number or a service number."), field="customer_number")
    customer = session.scalar(select(Customer).where(Customer.number == int(number)))
    if customer is None:
        raise stock.StockError(N_("The customer was not found in this location."), field="customer_number")
    return customer.id, None


def _warehouse_choice(form: MoveForm) -> Any:
    if not form.warehouse_id.data:
        raise stock.StockError(N_("Choose a warehouse."), field="warehouse_id")
    return stock.get_warehouse(db(), form.warehouse_id.data)


# --- warehouses and levels --------------------------------------------------------------------


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    session = db()
    warehouses = stock.list_warehouses(session)
    articles = {a.id: a for a in stock.list_articles(session)}
    table: dict[int, dict[int, int]] = {}
    for level in stock.levels(session):
        table.setdefault(level.article_id, {})[level.warehouse_id] = level.quantity
    return render_template("isp/stock_index.html", warehouses=warehouses, articles=articles, table=table,
                           categories=category_labels(), can_manage=has_permission(MANAGE))


def _save_warehouse(warehouse):  # noqa: ANN001, ANN202
    form = WarehouseForm(obj=warehouse, data={"site_id": str(warehouse.site_id or "")} if warehouse else None)
    form.site_id.choices = _site_choices()
    if form.validate_on_submit():
        session = db()
        try:
            saved = stock.save_warehouse(session, warehouse, code=form.code.data, name=form.name.data,
                                         site_id=form.site_id.data or None, note=form.note.data,
                                         is_active=form.is_active.data)
        except InvalidValue as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Warehouse %(code)s saved.", code=saved.code), "success")
            return redirect(url_for(".warehouse", warehouse_id=saved.id))
    status = 400 if request.method == "POST" else 200
    return render_template("isp/stock_warehouse_form.html", form=form, warehouse=warehouse), status


@bp.route("/warehouses/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new_warehouse():  # noqa: ANN201
    return _save_warehouse(None)


@bp.route("/warehouses/<int:warehouse_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit_warehouse(warehouse_id: int):  # noqa: ANN201
    return _save_warehouse(_or_404(stock.get_warehouse, warehouse_id))


@bp.get("/warehouses/<int:warehouse_id>")
@permission_required(VIEW)
def warehouse(warehouse_id: int):  # noqa: ANN201
    session = db()
    found = _or_404(stock.get_warehouse, warehouse_id)
    articles = {a.id: a for a in stock.list_articles(session)}
    form = MoveForm(formdata=None)
    _fill_move_form(form, exclude_warehouse=found.id)
    return render_template("isp/stock_warehouse.html", warehouse=found, articles=articles,
                           levels=stock.levels(session, warehouse_id=found.id),
                           items=stock.find_items(session, warehouse_id=found.id, state="in_stock"),
                           movements=stock.recent_movements(session, warehouse_id=found.id), form=form,
                           kinds=kind_labels(), can_manage=has_permission(MANAGE))


@bp.post("/warehouses/<int:warehouse_id>/move")
@permission_required(MANAGE)
def move_quantity(warehouse_id: int):  # noqa: ANN201
    session = db()
    found = _or_404(stock.get_warehouse, warehouse_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        article = stock.get_article(session, form.article_id.data)
        action, note, actor = form.action.data, form.note.data, current_user.id
        if action == "issue_customer":
            customer_id, service_id = _customer_and_service(form)
            stock.issue_to_customer(session, customer_id=customer_id, service_id=service_id, article=article,
                                    quantity=form.quantity.data, warehouse=found, note=note, actor=actor)
        elif action == "issue_technician":
            stock.issue_to_technician(session, technician_id=form.technician_id.data, article=article,
                                      quantity=form.quantity.data, warehouse=found, note=note, actor=actor)
        elif action == "return":
            stock.return_quantity(session, article, found, form.quantity.data,
                                  technician_id=form.technician_id.data or None, note=note, actor=actor)
        elif action == "transfer":
            stock.transfer(session, source=found, target=_warehouse_choice(form), article=article,
                           quantity=form.quantity.data, note=note, actor=actor)
        elif action == "write_off":
            stock.write_off(session, article=article, warehouse=found, quantity=form.quantity.data, note=note,
                            actor=actor)
        else:
            raise stock.StockError(N_("Choose one of the offered values."), field="action")
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("Movement recorded."), "success")
    return redirect(url_for(".warehouse", warehouse_id=found.id))


# --- articles -------------------------------------------------------------------------------------


@bp.get("/articles")
@permission_required(VIEW)
def articles():  # noqa: ANN201
    return render_template("isp/stock_articles.html", articles=stock.list_articles(db()),
                           categories=category_labels(), can_manage=has_permission(MANAGE))


def _save_article(article):  # noqa: ANN001, ANN202
    form = ArticleForm(obj=article)
    if form.validate_on_submit():
        session = db()
        try:
            saved = stock.save_article(session, article, code=form.code.data, name=form.name.data,
                                       category=form.category.data, serialised=form.serialised.data,
                                       unit=form.unit.data, is_active=form.is_active.data)
        except InvalidValue as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Article %(code)s saved.", code=saved.code), "success")
            return redirect(url_for(".articles"))
    status = 400 if request.method == "POST" else 200
    return render_template("isp/stock_article_form.html", form=form, article=article), status


@bp.route("/articles/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new_article():  # noqa: ANN201
    return _save_article(None)


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit_article(article_id: int):  # noqa: ANN201
    return _save_article(_or_404(stock.get_article, article_id))


# --- receiving ------------------------------------------------------------------------------------


@bp.route("/receive", methods=["GET", "POST"])
@permission_required(MANAGE)
def receive():  # noqa: ANN201
    session = db()
    form = ReceiveForm()
    form.warehouse_id.choices = options([(str(w.id), str(w)) for w in stock.list_warehouses(session, active_only=True)])
    form.article_id.choices = options([(str(a.id), str(a)) for a in stock.list_articles(session, active_only=True)])
    if form.validate_on_submit():
        try:
            movement = stock.receive(session, stock.get_warehouse(session, form.warehouse_id.data),
                                     stock.get_article(session, form.article_id.data),
                                     serial_number=form.serial_number.data, mac=form.mac.data,
                                     quantity=form.quantity.data, configured_by_mango=form.configured_by_mango.data,
                                     reference=form.reference.data, note=form.note.data, actor=current_user.id)
        except InvalidValue as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Received into %(code)s.", code=movement.to_warehouse.code), "success")
            return redirect(url_for(".receive", warehouse=form.warehouse_id.data, article=form.article_id.data))
    elif request.method == "GET":
        form.warehouse_id.data = request.args.get("warehouse", form.warehouse_id.data)
        form.article_id.data = request.args.get("article", form.article_id.data)
    status = 400 if request.method == "POST" else 200
    return render_template("isp/stock_receive.html", form=form), status


# --- items --------------------------------------------------------------------------------------


@bp.get("/items")
@permission_required(VIEW)
def items():  # noqa: ANN201
    session = db()
    state = request.args.get("state") if request.args.get("state") in ITEM_STATES else None
    query = request.args.get("q", "").strip()[:100]
    warehouse_text = request.args.get("warehouse", "")
    warehouse_id = int(warehouse_text) if warehouse_text.isdigit() and len(warehouse_text) < 12 else None
    return render_template("isp/stock_items.html",
                           items=stock.find_items(session, query=query, warehouse_id=warehouse_id, state=state),
                           warehouses=stock.list_warehouses(session), states=state_labels(), query=query,
                           state=state, warehouse_id=warehouse_id, can_manage=has_permission(MANAGE))


@bp.get("/items/<int:item_id>")
@permission_required(VIEW)
def item(item_id: int):  # noqa: ANN201
    session = db()
    found = _or_404(stock.get_item, item_id)
    form = MoveForm(formdata=None)
    _fill_move_form(form, exclude_warehouse=found.warehouse_id)
    return render_template("isp/stock_item.html", item=found, movements=stock.movements_of(session, found),
                           form=form, kinds=kind_labels(), states=state_labels(), categories=category_labels(),
                           can_manage=has_permission(MANAGE))


@bp.post("/items/<int:item_id>/move")
@permission_required(MANAGE)
def move_item(item_id: int):  # noqa: ANN201
    session = db()
    found = _or_404(stock.get_item, item_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    action, note, actor = form.action.data, form.note.data, current_user.id
    try:
        if action == "issue_customer":
            customer_id, service_id = _customer_and_service(form)
            stock.issue_to_customer(session, customer_id=customer_id, service_id=service_id, item=found,
                                    register_device=form.register_device.data, note=note, actor=actor)
        elif action == "issue_technician":
            stock.issue_to_technician(session, technician_id=form.technician_id.data, item=found, note=note,
                                      actor=actor)
        elif action == "return":
            stock.return_item(session, found, _warehouse_choice(form), note=note, actor=actor)
        elif action == "transfer":
            if found.warehouse is None:
                raise stock.StockError(N_("Item %(serial)s is not in stock."), field="item_id",
                                       serial=found.serial_number)
            stock.transfer(session, source=found.warehouse, target=_warehouse_choice(form), item=found, note=note,
                           actor=actor)
        elif action == "write_off":
            stock.write_off(session, item=found, note=note, actor=actor)
        else:
            raise stock.StockError(N_("Choose one of the offered values."), field="action")
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("Movement recorded."), "success")
    return redirect(url_for(".item", item_id=found.id))


@bp.post("/items/<int:item_id>/configured")
@permission_required(MANAGE)
def configured(item_id: int):  # noqa: ANN201
    session = db()
    found = _or_404(stock.get_item, item_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    stock.set_configured(session, found, not found.configured_by_mango)
    session.commit()
    return redirect(url_for(".item", item_id=found.id))
