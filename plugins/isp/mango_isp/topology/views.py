"""Topology on the device card (the ``device_card`` slot): interfaces, links, services that depend
on the device, its impact; the forms that change them, and the impact page.

The interactive graph and the map come later; this keeps the data they draw editable.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from mango_core.auth.access import permission_required
from mango_core.devices.models import Device
from mango_core.tenancy.validators import N_, InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import options
from mango_core.web.request import db
from mango_isp.ipam import assignments
from mango_isp.topology import service as topology
from mango_isp.topology.models import INTERFACE_KINDS, LINK_KINDS, Interface, ServiceDependency

bp = Blueprint("isp_topology", __name__, url_prefix="/isp/topology", template_folder="../templates")

VIEW, MANAGE = "isp.topology.view", "isp.topology.manage"
MAX_CHOICES = 2000


def interface_kind_labels() -> dict[str, str]:
    return {"ethernet": _l("Ethernet"), "sfp": _l("SFP (optical)"), "wireless": _l("wireless"), "pon": _l("PON"),
            "dsl": _l("DSL"), "virtual": _l("virtual"), "other": _l("other")}


def link_kind_labels() -> dict[str, str]:
    return {"copper": _l("metallic cable"), "fiber": _l("optical fibre"), "wireless": _l("radio link"),
            "virtual": _l("virtual")}


class InterfaceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    mac = StringField(_l("MAC address"), validators=[Optional(), Length(max=40)])
    speed_mbps = StringField(_l("Speed (Mbit/s)"), validators=[Optional(), Length(max=9)])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.kind.choices = options([(k, interface_kind_labels()[k]) for k in INTERFACE_KINDS])


class LinkForm(FlaskForm):
    local_id = SelectField(_l("Interface of this device"), choices=[], validate_choice=False)
    remote_id = SelectField(_l("Interface of the other device"), choices=[], validate_choice=False)
    direction = SelectField(_l("The other device is"), choices=[], validate_choice=False)
    kind = SelectField(_l("Medium"), choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.direction.choices = options([("down", _l("downstream (fed by this one)")),
                                          ("up", _l("upstream (feeds this one)"))])
        self.kind.choices = options([(k, link_kind_labels()[k]) for k in LINK_KINDS])


class DependencyForm(FlaskForm):
    service_id = StringField(_l("Service number"), validators=[DataRequired(), Length(max=12)])
    interface_id = SelectField(_l("Interface"), choices=[], validate_choice=False)


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


def _device(device_id: int) -> Device:
    try:
        return topology.get_device(db(), device_id)
    except topology.NotFound:
        abort(404)


def _to_card(device_id: int):  # noqa: ANN202
    return redirect(url_for("core_devices.card", device_id=device_id) + "#isp-topology")


def _flash_errors(form: FlaskForm) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "danger")


def render_device_slot(device: Device) -> str:
    """The device card's topology section (empty for a user without the permission)."""
    if not has_permission(VIEW):
        return ""
    session = db()
    own = topology.interfaces_of(session, device.id)
    link_form, interface_form, dependency_form = LinkForm(formdata=None), InterfaceForm(formdata=None), \
        DependencyForm(formdata=None)
    can_manage = has_permission(MANAGE)
    if can_manage:
        link_form.local_id.choices = options([(str(i.id), i.name) for i in own])
        others = session.execute(select(Interface.id, Interface.name, Device.name)
                                 .join(Device, Device.id == Interface.device_id)
                                 .where(Interface.device_id != device.id)
                                 .order_by(Device.sort_name, Interface.name).limit(MAX_CHOICES)).all()
        link_form.remote_id.choices = options([(str(i), f"{d} – {n}") for i, n, d in others])
        dependency_form.interface_id.choices = options([("", "—")] + [(str(i.id), i.name) for i in own])
    dependents = list(session.scalars(select(ServiceDependency).where(ServiceDependency.device_id == device.id)
                                      .order_by(ServiceDependency.service_id).limit(200)))
    return render_template("isp/topology_device.html", device=device, interfaces=own,
                           links=topology.links_of(session, device.id), dependents=dependents,
                           link_form=link_form, interface_form=interface_form, dependency_form=dependency_form,
                           confirm=ConfirmForm(), can_manage=can_manage, kinds=interface_kind_labels(),
                           link_kinds=link_kind_labels())


@bp.post("/devices/<int:device_id>/interfaces")
@permission_required(MANAGE)
def add_interface(device_id: int):  # noqa: ANN201
    device = _device(device_id)
    form = InterfaceForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _to_card(device.id)
    session = db()
    try:
        row = topology.add_interface(session, device, name=form.name.data, kind=form.kind.data, mac=form.mac.data,
                                     speed_mbps=form.speed_mbps.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("Interface %(name)s added.", name=row.name), "success")
    return _to_card(device.id)


@bp.post("/interfaces/<int:interface_id>/delete")
@permission_required(MANAGE)
def delete_interface(interface_id: int):  # noqa: ANN201
    session = db()
    try:
        row = topology.get_interface(session, interface_id)
    except topology.NotFound:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    device_id = row.device_id
    topology.delete_interface(session, row)
    session.commit()
    flash(_("Interface deleted."), "success")
    return _to_card(device_id)


@bp.post("/devices/<int:device_id>/links")
@permission_required(MANAGE)
def add_link(device_id: int):  # noqa: ANN201
    device = _device(device_id)
    form = LinkForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _to_card(device.id)
    session = db()
    try:
        local = topology.get_interface(session, form.local_id.data, "local_id")
        remote = topology.get_interface(session, form.remote_id.data, "remote_id")
        if local.device_id != device.id:
            raise topology.TopologyError(N_("Choose an interface of this device."), field="local_id")
        if form.direction.data not in ("up", "down") or form.kind.data not in LINK_KINDS:
            raise topology.TopologyError(N_("Choose one of the offered values."), field="direction")
        upstream, downstream = (remote, local) if form.direction.data == "up" else (local, remote)
        topology.connect(session, upstream, downstream, kind=form.kind.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("Link added."), "success")
    return _to_card(device.id)


@bp.post("/links/<int:link_id>/delete")
@permission_required(MANAGE)
def delete_link(link_id: int):  # noqa: ANN201
    session = db()
    try:
        row = topology.get_link(session, link_id)
    except topology.NotFound:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    wanted = request.args.get("device", "")
    back = int(wanted) if wanted.isascii() and wanted.isdigit() and len(wanted) < 12 else row.upstream.device_id
    topology.disconnect(session, row)
    session.commit()
    flash(_("Link deleted."), "success")
    return _to_card(back)


@bp.post("/devices/<int:device_id>/dependencies")
@permission_required(MANAGE)
def add_dependency(device_id: int):  # noqa: ANN201
    device = _device(device_id)
    form = DependencyForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _to_card(device.id)
    session = db()
    try:
        service = assignments.get_service(session, form.service_id.data.strip().lstrip("#"))
        interface = (topology.get_interface(session, form.interface_id.data)
                     if form.interface_id.data else None)
        topology.depend(session, service, device, interface=interface, actor=current_user.id)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("Service #%(service)d depends on %(device)s.", service=service.id, device=device.name), "success")
    return _to_card(device.id)


@bp.post("/dependencies/<int:dependency_id>/delete")
@permission_required(MANAGE)
def delete_dependency(dependency_id: int):  # noqa: ANN201
    session = db()
    try:
        row = topology.get_dependency(session, dependency_id)
    except topology.NotFound:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    device_id = row.device_id
    topology.remove_dependency(session, row)
    session.commit()
    flash(_("Dependency removed."), "success")
    return _to_card(device_id)


@bp.get("/devices/<int:device_id>/impact")
@permission_required(VIEW)
def impact(device_id: int):  # noqa: ANN201
    device = _device(device_id)
    session = db()
    found = topology.impact(session, device.id)
    devices = list(session.scalars(select(Device).where(Device.id.in_(sorted(found.device_ids)))
                                   .order_by(Device.sort_name)))
    return render_template("isp/topology_impact.html", device=device, devices=devices, impact=found)
