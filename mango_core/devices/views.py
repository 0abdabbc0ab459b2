"""Opcare pages of devices: list and search, the card, create/edit; sites; device types.

Objects named in a URL are looked up through the tenant-guarded session, so those of another
location (or, for device types, of another partner) answer 404. Every change is a POST with a
CSRF token and goes through :mod:`mango_core.devices.service`; its errors come back as form
errors in the user's language.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from mango_core.auth.access import permission_required
from mango_core.devices import forms, search, service
from mango_core.devices import types as dtypes
from mango_core.devices.models import STATES, Device, DeviceType, Site
from mango_core.params import DefinitionError, DefinitionSet, ParamDef, ParamValidationError, param_types
from mango_core.params.forms import attach_errors, build_form, form_values
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options
from mango_core.web.menu import MenuItem
from mango_core.web.request import db

bp = Blueprint("core_devices", __name__, url_prefix="/devices")

VIEW, MANAGE, TYPES = "core.devices.view", "core.devices.manage", "core.device_types.manage"

MENU = [
    MenuItem(_l("Devices"), "core_devices.index", VIEW, section="network", order=10, icon="hdd-network"),
    MenuItem(_l("Sites"), "core_devices.sites", VIEW, section="network", order=20, icon="geo-alt"),
    MenuItem(_l("Device types"), "core_devices.types", VIEW, section="network", order=30, icon="diagram-2"),
]

# form field names where the service's field names differ
_FORM_FIELD = {"parent_id": "uplink", "type_key": None}


# --- helpers ----------------------------------------------------------------------------------


def _or_404(call, *args):  # noqa: ANN001, ANN002, ANN202
    try:
        return call(db(), *args)
    except service.NotFound:
        abort(404)


def _display(pdef: ParamDef, value: Any) -> str:
    try:
        return pdef.display(pdef.from_json(value), str(get_locale()))
    except InvalidValue:
        return str(value)


def _confirmed() -> None:
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)


def _site_choices() -> list:
    return options([("", "—")] + [(str(s.id), s.name) for s in service.list_sites(db())])


# --- list ---------------------------------------------------------------------------------------


def _filters() -> search.Filters:
    args = request.args
    site = args.get("site", "")
    return search.Filters(query=args.get("q", "").strip()[:search.MAX_QUERY],
                          type_key=args.get("type") if dtypes.parse_key(args.get("type")) else None,
                          site_id=int(site) if site.isdigit() and len(site) < 12 else None,
                          state=args.get("state") if args.get("state") in STATES else None)


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    filters = _filters()
    session = db()
    page = search.list_devices(session, filters, after=request.args.get("after"))
    if filters.query and len(page.items) == 1 and not request.args.get("after"):
        return redirect(url_for(".card", device_id=page.items[0].id))
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    type_labels = {t.key: t.label for t in service.code_types(only_active=False)}
    type_labels.update({dtypes.ui_key(t.id): t.name for t in service.list_ui_types(session)})
    return render_template("devices/list.html", page=page, filters=filters, args=args,
                           sites=service.list_sites(session), type_labels=type_labels,
                           states=forms.state_labels(), can_manage=has_permission(MANAGE))


def device_summary(device: Device) -> dict[str, Any]:
    """What a picker shows of a device (the JSON of :func:`lookup`, the service page's matches)."""
    return {"id": device.id, "name": device.name, "serial_number": device.serial_number, "mac": device.mac,
            "management_ip": device.management_ip, "site": device.site.name if device.site else None,
            "state": device.state}


@bp.get("/lookup")
@permission_required(VIEW)
def lookup():  # noqa: ANN201
    """``?q=``: devices of the current location for pickers (name, serial, MAC, IP, parameter value, id).

    Answers ``{"query": …, "items": [{id, name, serial_number, mac, management_ip, site, state}],
    "more": bool}``; at most :data:`search.LOOKUP_LIMIT` items, by name.
    """
    query = request.args.get("q", "").strip()[:search.MAX_QUERY]
    rows, more = search.lookup(db(), query)
    return jsonify({"query": query, "items": [device_summary(d) for d in rows], "more": more})


def type_label(device: Device, labels: dict[str, str]) -> str:
    if device.type_id is not None:
        return device.device_type.name if device.device_type else "?"
    return labels.get(dtypes.code_key(device.type_code or ""), device.type_code or "?")


bp.add_app_template_global(type_label, "device_type_label")


# --- create / edit ------------------------------------------------------------------------------


def _device_data(form: forms.DeviceForm) -> dict[str, Any]:
    return {"name": form.name.data, "serial_number": form.serial_number.data, "mac": form.mac.data,
            "management_ip": form.management_ip.data, "site_id": form.site_id.data or None,
            "parent_id": service.find_device_ref(db(), form.uplink.data), "state": form.state.data,
            "note": form.note.data}


def _save(form: forms.DeviceForm, params_form: FlaskForm, info: dtypes.TypeInfo, save) -> Device | None:  # noqa: ANN001
    """Validate both forms, call ``save(data, params)``, commit; errors back on their fields."""
    if request.method != "POST":
        return None
    valid = form.validate_on_submit()
    valid = params_form.validate() and valid
    if not valid:
        return None
    try:
        device = save(_device_data(form), form_values(params_form, list(info.definitions)))
    except ParamValidationError as exc:
        db().rollback()
        for message in attach_errors(params_form, exc.errors).values():
            flash(message, "danger")
    except InvalidValue as exc:
        db().rollback()
        form_error(form, exc, _FORM_FIELD)
    else:
        db().commit()
        return device
    return None


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new():  # noqa: ANN201
    session = db()
    key = request.args.get("type")
    if not key:
        return render_template("devices/choose_type.html", types=service.available_types(session))
    try:
        info = service.resolve_type(session, key)
    except service.NotFound:
        abort(404)
    form = forms.DeviceForm()
    form.site_id.choices = _site_choices()
    if request.method == "GET" and request.args.get("parent", "").isdigit():
        form.uplink.data = request.args["parent"]
    params_form = build_form(list(info.definitions), prefix="p", meta={"csrf": False})

    def save(data: dict[str, Any], params: dict[str, Any]) -> Device:
        return service.create_device(session, type_key=info.key, params=params, **data)

    device = _save(form, params_form, info, save)
    if device is not None:
        flash(_("Device %(name)s created.", name=device.name), "success")
        return redirect(url_for(".card", device_id=device.id))
    return render_template("devices/form.html", form=form, params_form=params_form, info=info, device=None,
                           attention={}), 400 if form.errors or params_form.errors else 200


@bp.route("/<int:device_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit(device_id: int):  # noqa: ANN201
    session = db()
    device = _or_404(service.get_device, device_id)
    info = service.type_of(session, device)
    if info is None:
        info = dtypes.TypeInfo(key="", label=device.type_code or "?", definitions=DefinitionSet(()))
    form = forms.DeviceForm(obj=device, data={"uplink": str(device.parent_id or ""),
                                              "site_id": str(device.site_id or "")})
    form.site_id.choices = _site_choices()
    params_form = build_form(list(info.definitions), device.params or {}, prefix="p", meta={"csrf": False})
    attention = service.invalid_params(session, device)

    def save(data: dict[str, Any], params: dict[str, Any]) -> Device:
        service.update_device(session, device, params=params if info.key else None, **data)
        return device

    saved = _save(form, params_form, info, save)
    if saved is not None:
        flash(_("Saved."), "success")
        return redirect(url_for(".card", device_id=device.id))
    if request.method == "GET":
        for message in attach_errors(params_form, attention).values():
            flash(message, "warning")
    return render_template("devices/form.html", form=form, params_form=params_form, info=info, device=device,
                           attention=attention), 400 if form.errors or params_form.errors else 200


@bp.post("/<int:device_id>/delete")
@permission_required(MANAGE)
def delete(device_id: int):  # noqa: ANN201
    _confirmed()
    device = _or_404(service.get_device, device_id)
    try:
        service.delete_device(db(), device)
    except InvalidValue as exc:
        db().rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".card", device_id=device_id))
    db().commit()
    flash(_("Device deleted."), "success")
    return redirect(url_for(".index"))


# --- the card -----------------------------------------------------------------------------------


@bp.get("/<int:device_id>")
@permission_required(VIEW)
def card(device_id: int):  # noqa: ANN201
    session = db()
    device = _or_404(service.get_device, device_id)
    info = service.type_of(session, device)
    stored = service.stored_definitions(session, device)
    shown = []
    if stored is not None:
        shown = [(pdef, _display(pdef, (device.params or {}).get(pdef.key))) for pdef in stored]
        known = set(stored.keys())
        shown += [(None, f"{key}: {value}") for key, value in (device.params or {}).items() if key not in known]
    return render_template("devices/card.html", device=device, info=info, params=shown,
                           attention=service.invalid_params(session, device),
                           children=service.children_of(session, device), uplinks=service.uplink_chain(device),
                           states=forms.state_labels(), can_manage=has_permission(MANAGE),
                           confirm=forms.ConfirmForm())


# --- sites --------------------------------------------------------------------------------------


@bp.get("/sites")
@permission_required(VIEW)
def sites():  # noqa: ANN201
    session = db()
    counts = dict(session.execute(select(Device.site_id, func.count()).where(Device.site_id.is_not(None))
                                  .group_by(Device.site_id)).all())
    return render_template("devices/sites.html", sites=service.list_sites(session), counts=counts,
                           can_manage=has_permission(MANAGE), confirm=forms.ConfirmForm())


def _site_page(site: Site | None):  # noqa: ANN202
    form = forms.SiteForm(obj=site)
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in service.SITE_FIELDS}
        try:
            if site is None:
                site = service.create_site(db(), **data)
            else:
                service.update_site(db(), site, **data)
        except InvalidValue as exc:
            db().rollback()
            form_error(form, exc, _FORM_FIELD)
        else:
            db().commit()
            flash(_("Site %(name)s saved.", name=site.name), "success")
            return redirect(url_for(".sites"))
    return render_template("devices/site_form.html", form=form, site=site), 400 if form.errors else 200


@bp.route("/sites/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def site_new():  # noqa: ANN201
    return _site_page(None)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def site_edit(site_id: int):  # noqa: ANN201
    return _site_page(_or_404(service.get_site, site_id))


@bp.post("/sites/<int:site_id>/delete")
@permission_required(MANAGE)
def site_delete(site_id: int):  # noqa: ANN201
    _confirmed()
    site = _or_404(service.get_site, site_id)
    try:
        service.delete_site(db(), site)
    except InvalidValue as exc:
        db().rollback()
        flash(str(exc), "danger")
    else:
        db().commit()
        flash(_("Site deleted."), "success")
    return redirect(url_for(".sites"))


# --- device types -------------------------------------------------------------------------------


def _type_pairs() -> list[tuple[str, str]]:
    return [(name, str(kind.title)) for name, kind in param_types().items()]


def _type_choices() -> list:
    return options(_type_pairs())


@bp.get("/types")
@permission_required(VIEW)
def types():  # noqa: ANN201
    session = db()
    counts = {f"ui:{k}": n for k, n in session.execute(
        select(Device.type_id, func.count()).where(Device.type_id.is_not(None)).group_by(Device.type_id)).all()}
    counts.update({f"code:{k}": n for k, n in session.execute(
        select(Device.type_code, func.count()).where(Device.type_code.is_not(None)).group_by(Device.type_code)).all()})
    return render_template("devices/types.html", code_types=service.code_types(),
                           ui_types=service.list_ui_types(session), counts=counts,
                           can_manage_types=has_permission(TYPES), form=forms.DeviceTypeForm())


@bp.get("/types/code/<code>")
@permission_required(VIEW)
def code_type(code: str):  # noqa: ANN201
    try:
        info = service.resolve_type(db(), dtypes.code_key(code))
    except service.NotFound:
        abort(404)
    return render_template("devices/code_type.html", info=info, kinds=dict(_type_pairs()))


@bp.post("/types")
@permission_required(TYPES)
def type_create():  # noqa: ANN201
    form = forms.DeviceTypeForm()
    if form.validate_on_submit():
        try:
            row = service.create_device_type(db(), name=form.name.data, description=form.description.data)
        except InvalidValue as exc:
            db().rollback()
            flash(str(exc), "danger")
        else:
            db().commit()
            flash(_("Device type %(name)s created; now add its parameters.", name=row.name), "success")
            return redirect(url_for(".type_page", type_id=row.id))
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
    return redirect(url_for(".types"))


def _param_def(form: forms.ParamDefForm) -> ParamDef:
    data: dict[str, Any] = {"key": (form.key.data or "").strip(), "label": (form.label.data or "").strip(),
                            "type": form.type.data, "required": form.required.data,
                            "unit": (form.unit.data or "").strip(), "help": (form.help.data or "").strip()}
    pairs = []
    for line in (form.choices.data or "").splitlines():
        if line.strip():
            value, _sep, label = line.partition("=")
            pairs.append([value.strip(), (label or value).strip()])
    if pairs:
        data["choices"] = pairs
    for name in ("min", "max", "regex", "default"):
        value = (getattr(form, name).data or "").strip()
        if value:
            data[name] = value
    return ParamDef.from_dict(data)


def _type_page(device_type: DeviceType, type_form: forms.DeviceTypeForm, param_form: forms.ParamDefForm,
               status: int = 200):  # noqa: ANN202
    session = db()
    return render_template("devices/type.html", device_type=device_type,
                           defs=service.definitions_of(session, device_type), type_form=type_form,
                           param_form=param_form, kinds=dict(_type_pairs()),
                           attention=service.devices_needing_attention(session, device_type),
                           can_manage_types=has_permission(TYPES), confirm=forms.ConfirmForm()), status


@bp.get("/types/<int:type_id>")
@permission_required(VIEW)
def type_page(type_id: int):  # noqa: ANN201
    device_type = _or_404(service.get_device_type, type_id)
    param_form = forms.ParamDefForm()
    param_form.type.choices = _type_choices()
    editing = service.definitions_of(db(), device_type).get(request.args.get("edit", ""))
    if editing is not None:
        data = editing.to_dict()
        for name in ("key", "label", "type", "required", "unit", "help", "regex"):
            getattr(param_form, name).data = data.get(name)
        for name in ("min", "max", "default"):
            getattr(param_form, name).data = "" if data[name] is None else str(data[name])
        param_form.choices.data = "\n".join(f"{value}={label}" for value, label in data["choices"])
    return _type_page(device_type, forms.DeviceTypeForm(obj=device_type), param_form)


@bp.post("/types/<int:type_id>")
@permission_required(TYPES)
def type_rename(type_id: int):  # noqa: ANN201
    device_type = _or_404(service.get_device_type, type_id)
    form = forms.DeviceTypeForm()
    param_form = forms.ParamDefForm(formdata=None)
    param_form.type.choices = _type_choices()
    if form.validate_on_submit():
        try:
            service.rename_device_type(db(), device_type, name=form.name.data, description=form.description.data)
        except InvalidValue as exc:
            db().rollback()
            form_error(form, exc, _FORM_FIELD)
        else:
            db().commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".type_page", type_id=type_id))
    return _type_page(device_type, form, param_form, 400)


def _after_new_version(device_type: DeviceType, version: int) -> None:
    stale = service.devices_needing_attention(db(), device_type)
    if stale:
        flash(_("Version %(version)s saved. %(count)s devices here have values that do not fit it; they keep "
                "them until they are edited.", version=version, count=len(stale)), "warning")
    else:
        flash(_("Version %(version)s saved.", version=version), "success")


@bp.post("/types/<int:type_id>/params")
@permission_required(TYPES)
def type_param_save(type_id: int):  # noqa: ANN201
    device_type = _or_404(service.get_device_type, type_id)
    form = forms.ParamDefForm()
    form.type.choices = _type_choices()
    if form.validate_on_submit():
        try:
            pdef = _param_def(form)
            current = list(service.definitions_of(db(), device_type))
            params = [pdef if p.key == pdef.key else p for p in current]
            if pdef.key not in {p.key for p in current}:
                params.append(pdef)
            new = service.save_type_definitions(db(), device_type, params)
        except (DefinitionError, InvalidValue) as exc:
            db().rollback()
            form_error(form, exc, _FORM_FIELD)
        else:
            db().commit()
            _after_new_version(device_type, new.version)
            return redirect(url_for(".type_page", type_id=type_id))
    return _type_page(device_type, forms.DeviceTypeForm(obj=device_type), form, 400)


@bp.post("/types/<int:type_id>/params/<key>/remove")
@permission_required(TYPES)
def type_param_remove(type_id: int, key: str):  # noqa: ANN201
    _confirmed()
    device_type = _or_404(service.get_device_type, type_id)
    current = list(service.definitions_of(db(), device_type))
    if key not in {p.key for p in current}:
        abort(404)
    new = service.save_type_definitions(db(), device_type, [p for p in current if p.key != key])
    db().commit()
    _after_new_version(device_type, new.version)
    return redirect(url_for(".type_page", type_id=type_id))


@bp.post("/types/<int:type_id>/delete")
@permission_required(TYPES)
def type_delete(type_id: int):  # noqa: ANN201
    _confirmed()
    device_type = _or_404(service.get_device_type, type_id)
    try:
        service.delete_device_type(db(), device_type)
    except InvalidValue as exc:
        db().rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".type_page", type_id=type_id))
    db().commit()
    flash(_("Device type deleted."), "success")
    return redirect(url_for(".types"))
