"""Opcare: the location's exporters (register, change, remove) with the collector's counters, and
the addresses that send flows but are not registered."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from mango_core.auth.access import permission_required
from mango_core.devices.models import Device
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options
from mango_core.web.request import db
from mango_netflow.collector import exporters as service

bp = Blueprint("netflow_collector", __name__, url_prefix="/netflow/exporters", template_folder="../templates")

VIEW, MANAGE = "netflow.exporters.view", "netflow.exporters.manage"
MAX_DEVICES = 2000


class ExporterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    address = StringField(_l("Source address"), validators=[DataRequired(), Length(max=45)])
    device_id = SelectField(_l("Device"), choices=[], validate_choice=False)
    active = BooleanField(_l("Active (store its flows)"), default=True)


class DeleteForm(FlaskForm):
    pass


def _device_choices() -> list:
    rows = db().execute(select(Device.id, Device.name, Device.management_ip).order_by(Device.sort_name, Device.id)
                        .limit(MAX_DEVICES)).all()
    return options([("", _("— no device —")),
                    *((str(i), f"{name} ({ip})" if ip else name) for i, name, ip in rows)])


def _or_404(exporter_id: int):  # noqa: ANN202
    found = service.get(db(), exporter_id)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    session = db()
    can_manage = has_permission(MANAGE)
    devices = dict(session.execute(select(Device.id, Device.name)
                                   .where(Device.id.in_([e.device_id for e in service.exporters(session)
                                                         if e.device_id]))).all())
    return render_template("netflow/collector/exporters.html", exporters=service.exporters(session), devices=devices,
                           can_manage=can_manage, delete_form=DeleteForm(),
                           unknown=service.unknown_sources(session) if can_manage else [])


def _save(exporter):  # noqa: ANN001, ANN202
    form = ExporterForm(obj=exporter, data={"device_id": str(exporter.device_id or "")} if exporter else None)
    form.device_id.choices = _device_choices()
    if exporter is None and request.method == "GET" and request.args.get("address"):
        form.address.data = request.args["address"][:45]
    if form.validate_on_submit():
        session = db()
        device = form.device_id.data
        try:
            saved = service.save(session, exporter, name=form.name.data, address=form.address.data,
                                 device_id=int(device) if device and device.isdigit() else None,
                                 active=form.active.data)
        except InvalidValue as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Exporter %(name)s saved.", name=saved.name), "success")
            return redirect(url_for(".index"))
    status = 400 if request.method == "POST" else 200
    return render_template("netflow/collector/exporter_form.html", form=form, exporter=exporter), status


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new():  # noqa: ANN201
    return _save(None)


@bp.route("/<int:exporter_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit(exporter_id: int):  # noqa: ANN201
    return _save(_or_404(exporter_id))


@bp.post("/<int:exporter_id>/delete")
@permission_required(MANAGE)
def delete(exporter_id: int):  # noqa: ANN201
    found = _or_404(exporter_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    session = db()
    name = found.name
    service.delete(session, found)
    session.commit()
    flash(_("Exporter %(name)s removed; its stored flows stay.", name=name), "success")
    return redirect(url_for(".index"))
