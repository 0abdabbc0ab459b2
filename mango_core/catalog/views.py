"""Opcare pages of the catalogue: service classes (with the parameter editor) and products.

Classes and products are the partner's, shared by its locations; a class or product of another
partner answers 404 (the tenant guard hides it). Every change is a POST with a CSRF token and goes
through :mod:`mango_core.catalog.service`.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from mango_core.auth.access import permission_required
from mango_core.catalog import forms, service
from mango_core.catalog.kinds import class_kinds
from mango_core.catalog.models import Product, ServiceClass
from mango_core.history import views as history_views
from mango_core.params import DefinitionError, ParamDef, ParamValidationError, param_types
from mango_core.params.forms import attach_errors, build_form, form_values
from mango_core.tenancy.validators import N_, InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options, save
from mango_core.web.request import current_location_id, db

bp = Blueprint("core_catalog", __name__, url_prefix="/catalog")

VIEW, MANAGE = "core.catalog.view", "core.catalog.manage"


def actor() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _kind_choices(cls: ServiceClass | None = None) -> list[tuple[str, str]]:
    kinds = class_kinds(current_location_id())
    choices = [(key, str(kind.label)) for key, kind in kinds.items()]
    if cls is not None and cls.kind not in kinds:
        choices.append((cls.kind, cls.kind))  # a kind of a plugin not enabled here: kept as it is
    return choices


def _class_or_404(class_id: int) -> ServiceClass:
    try:
        return service.get_class(db(), class_id)
    except service.NotFound:
        abort(404)


# --- classes -----------------------------------------------------------------------------------------


@bp.get("/classes")
@permission_required(VIEW)
def classes():  # noqa: ANN201
    rows = service.list_classes(db())
    counts: dict[int, int] = {}
    for product in service.list_products(db()):
        counts[product.class_id] = counts.get(product.class_id, 0) + 1
    return render_template("catalog/classes.html", rows=rows, counts=counts, kinds=dict(_kind_choices()),
                           can_manage=has_permission(MANAGE))


@bp.route("/classes/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def class_new():  # noqa: ANN201
    form = forms.ClassForm()
    form.kind.choices = options(_kind_choices())
    if form.validate_on_submit():
        if saved := save(form, lambda: service.create_class(db(), name=form.name.data, kind=form.kind.data,
                                                            description=form.description.data,
                                                            known_kinds=[k for k, _label in _kind_choices()],
                                                            actor=actor()),
                         lambda cls: _("Service class %(name)s created.", name=cls.name)):
            return redirect(url_for(".class_detail", class_id=saved.value.id))
    return render_template("catalog/class_new.html", form=form), 400 if form.errors else 200


def _type_choices() -> list[tuple[str, str]]:
    return [(name, str(getattr(kind, "title", name))) for name, kind in param_types().items()]


def _class_page(cls: ServiceClass, *, class_form: forms.ClassForm | None = None,
                param_form: forms.ParamDefForm | None = None, report: Any = None, status: int = 200):  # noqa: ANN202
    session = db()
    if class_form is None:
        class_form = forms.ClassForm(obj=cls)
    class_form.kind.choices = options(_kind_choices(cls))
    if param_form is None:
        param_form = forms.ParamDefForm()
        editing = service.definitions(session, cls).get(request.args.get("edit", ""))
        if editing is not None:
            _fill_param_form(param_form, editing)
    param_form.type.choices = options(_type_choices())
    from mango_core.services.service import services_of_class

    return render_template(
        "catalog/class.html", cls=cls, defs=service.definitions(session, cls), versions=cls.versions,
        products=service.list_products(session, class_id=cls.id), service_count=len(services_of_class(session, cls.id)),
        class_form=class_form, param_form=param_form, confirm=forms.ConfirmForm(), report=report,
        types=dict(_type_choices()), can_manage=has_permission(MANAGE),
        history_html=_history(service.CLASS_ENTITY, cls.id, url_for(".class_history_csv", class_id=cls.id)),
    ), status


# --- history of classes and products -----------------------------------------------------------------


def _history(entity: str, entity_id: int, export_url: str) -> Markup:
    """The page's "History" section: changes made from any location of the partner."""
    return Markup(history_views.render_object_history(entity, entity_id, service.history_location_ids(db()),
                                                      _with_filters(export_url)))


def _with_filters(url: str) -> str:
    from urllib.parse import urlencode

    args = {k: request.args[k] for k in ("action", "since", "until") if request.args.get(k)}
    return f"{url}?{urlencode(args)}" if args else url


@bp.get("/classes/<int:class_id>/history.csv")
@permission_required(VIEW)
def class_history_csv(class_id: int):  # noqa: ANN201
    cls = _class_or_404(class_id)
    return history_views.export_object_history(service.CLASS_ENTITY, cls.id, service.history_location_ids(db()),
                                               f"historie-trida-{cls.id}.csv")


@bp.get("/products/<int:product_id>/history.csv")
@permission_required(VIEW)
def product_history_csv(product_id: int):  # noqa: ANN201
    product = _product_or_404(product_id)
    return history_views.export_object_history(service.PRODUCT_ENTITY, product.id,
                                               service.history_location_ids(db()), f"historie-produkt-{product.code}.csv")


def _product_or_404(product_id: int) -> Product:
    try:
        return service.get_product(db(), product_id)
    except service.NotFound:
        abort(404)


def _fill_param_form(form: forms.ParamDefForm, pdef: ParamDef) -> None:
    data = pdef.to_dict()
    for name in ("key", "label", "type", "required", "unit", "help", "regex", "customer_editable", "on_invoice"):
        getattr(form, name).data = data.get(name)
    for name in ("min", "max", "default", "places"):
        getattr(form, name).data = "" if data.get(name) is None else str(data[name])
    form.choices.data = "\n".join(f"{value}={label}" for value, label in data["choices"])


@bp.get("/classes/<int:class_id>")
@permission_required(VIEW)
def class_detail(class_id: int):  # noqa: ANN201
    return _class_page(_class_or_404(class_id))


@bp.post("/classes/<int:class_id>")
@permission_required(MANAGE)
def class_save(class_id: int):  # noqa: ANN201
    cls = _class_or_404(class_id)
    form = forms.ClassForm()
    form.kind.choices = options(_kind_choices(cls))
    if not form.validate_on_submit():
        return _class_page(cls, class_form=form, status=400)
    try:
        changes = service.update_class(db(), cls, name=form.name.data, kind=form.kind.data,
                                       description=form.description.data, is_active=form.is_active.data,
                                       known_kinds=[k for k, _label in _kind_choices(cls)], actor=actor())
    except InvalidValue as exc:
        db().rollback()
        form_error(form, exc)
        return _class_page(cls, class_form=form, status=400)
    db().commit()
    flash(_("Saved.") if changes else _("Nothing changed."), "success" if changes else "info")
    return redirect(url_for(".class_detail", class_id=cls.id))


def _choices(text: str | None) -> list[list[str]]:
    pairs = []
    for line in (text or "").splitlines():
        if line.strip():
            value, _sep, label = line.partition("=")
            pairs.append([value.strip(), (label or value).strip()])
    return pairs


def _definition(form: forms.ParamDefForm) -> ParamDef:
    data: dict[str, Any] = {"key": (form.key.data or "").strip(), "label": (form.label.data or "").strip(),
                            "type": form.type.data, "required": form.required.data,
                            "customer_editable": form.customer_editable.data, "on_invoice": form.on_invoice.data,
                            "unit": (form.unit.data or "").strip(), "help": (form.help.data or "").strip()}
    if form.choices.data and form.choices.data.strip():
        data["choices"] = _choices(form.choices.data)
    for name in ("min", "max", "regex", "default"):
        value = (getattr(form, name).data or "").strip()
        if value:
            data[name] = value
    places = (form.places.data or "").strip()
    if places:
        if not places.isdigit():
            raise DefinitionError(N_("Decimal places must be a whole number."))
        data["places"] = int(places)
    return ParamDef.from_dict(data)


def _report_flash(report: service.VersionReport) -> None:
    if not report.changed:
        flash(_("Nothing changed."), "info")
        return
    flash(_("Parameters saved: version %(version)s. Existing services keep the version they were entered with.",
            version=report.definitions.version), "success")
    if report.services or report.products:
        flash(_("Values that do not fit the new version: %(services)s services here, %(products)s products. "
                "They are fixed at their next change.", services=len(report.services),
                products=len(report.products)), "warning")


@bp.post("/classes/<int:class_id>/params")
@permission_required(MANAGE)
def param_save(class_id: int):  # noqa: ANN201
    cls = _class_or_404(class_id)
    form = forms.ParamDefForm()
    form.type.choices = options(_type_choices())
    if not form.validate_on_submit():
        return _class_page(cls, param_form=form, status=400)
    try:
        report = service.set_param(db(), cls, _definition(form), actor=actor())
    except (DefinitionError, InvalidValue) as exc:
        db().rollback()
        form_error(form, exc)
        return _class_page(cls, param_form=form, status=400)
    db().commit()
    _report_flash(report)
    return _class_page(cls, report=report) if report.services or report.products else \
        redirect(url_for(".class_detail", class_id=cls.id))


@bp.post("/classes/<int:class_id>/params/<key>/remove")
@permission_required(MANAGE)
def param_remove(class_id: int, key: str):  # noqa: ANN201
    cls = _class_or_404(class_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        report = service.remove_param(db(), cls, key, actor=actor())
    except service.NotFound:
        abort(404)
    db().commit()
    _report_flash(report)
    return redirect(url_for(".class_detail", class_id=cls.id))


# --- products ----------------------------------------------------------------------------------------


@bp.get("/products")
@permission_required(VIEW)
def products():  # noqa: ANN201
    session = db()
    class_id = request.args.get("class_id", type=int)
    rows = service.list_products(session, class_id=class_id)
    locations = {loc.id: loc for loc in service.partner_locations(session)}
    return render_template("catalog/products.html", rows=rows, classes=service.list_classes(session),
                           class_id=class_id, locations=locations, can_manage=has_permission(MANAGE))


def _product_form(product: Any = None) -> forms.ProductForm:
    form = forms.ProductForm(obj=product) if product is not None else forms.ProductForm()
    form.locations.choices = options([(loc.id, f"{loc.code} – {loc.name}") for loc in service.partner_locations(db())])
    if request.method == "GET":
        if product is not None:
            form.locations.data = sorted(product.location_ids)
            form.vat_rate.data = format(product.vat_rate, "f")
            form.price.data = format(product.price, "f")
            form.second_price.data = "" if product.second_price is None else format(product.second_price, "f")
        else:
            form.locations.data = [current_location_id()]
    return form


def _product_data(form: forms.ProductForm) -> dict[str, Any]:
    return {"name": form.name.data, "code": form.code.data, "description": form.description.data,
            "price": form.price.data, "vat_rate": form.vat_rate.data, "second_price": form.second_price.data,
            "second_price_label": form.second_price_label.data, "valid_from": form.valid_from.data,
            "valid_until": form.valid_until.data}


def _save_product(cls: ServiceClass, product: Any):  # noqa: ANN202
    session = db()
    form = _product_form(product)
    defs = service.definitions(session, cls)
    # a product's defaults may leave required values to each service
    optional = [dataclasses.replace(p, required=False) for p in defs]
    params = build_form(optional, product.defaults if product is not None else None, prefix="p",
                        meta={"csrf": False})
    if request.method == "POST" and form.validate_on_submit() & params.validate():
        data = _product_data(form)
        try:
            if product is None:
                product = service.create_product(session, class_id=cls.id, defaults=form_values(params, defs),
                                                 location_ids=form.locations.data or [], actor=actor(), **data)
                message = _("Product %(code)s created.", code=product.code)
            else:
                service.update_product(session, product, defaults=form_values(params, defs),
                                       location_ids=form.locations.data or [], actor=actor(), **data)
                message = _("Saved.")
        except ParamValidationError as exc:
            session.rollback()
            for rest in attach_errors(params, exc.errors).values():
                flash(rest, "danger")
        except InvalidValue as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(message, "success")
            return redirect(url_for(".products"))
    failed = bool(form.errors or params.errors)
    history_html = None
    if product is not None and product.id is not None:
        history_html = _history(service.PRODUCT_ENTITY, product.id,
                                url_for(".product_history_csv", product_id=product.id))
    return render_template("catalog/product_form.html", form=form, params=params, defs=defs, cls=cls,
                           product=product, history_html=history_html), 400 if failed else 200


@bp.route("/products/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def product_new():  # noqa: ANN201
    class_id = request.args.get("class_id", type=int)
    if class_id is None:
        return render_template("catalog/product_class.html", classes=service.list_classes(db(), active_only=True))
    return _save_product(_class_or_404(class_id), None)


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@permission_required(VIEW)
def product_edit(product_id: int):  # noqa: ANN201
    product = _product_or_404(product_id)
    if request.method == "POST" and not has_permission(MANAGE):
        abort(403)
    return _save_product(product.service_class, product)


def vat(amount: Decimal, rate: Decimal) -> Decimal:
    """Price with VAT for display (rounded half up to hundredths)."""
    from decimal import ROUND_HALF_UP

    return (amount * (100 + rate) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


bp.add_app_template_filter(vat, "with_vat")
