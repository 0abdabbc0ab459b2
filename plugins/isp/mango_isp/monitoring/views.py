"""Opcare monitoring: devices down with the customers they cut off, every device's state, its
history, availability, RTT and traffic graphs, its SNMP settings, and the location's alert settings."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from mango_core.auth.access import permission_required
from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import options
from mango_core.web.request import db
from mango_isp.monitoring import service as monitoring
from mango_isp.monitoring import traffic
from mango_isp.monitoring.chart import rtt_chart, si_rate, traffic_chart
from mango_isp.monitoring.models import DOWN, OPEN, UNKNOWN, UP
from mango_isp.topology.service import impact

bp = Blueprint("isp_monitoring", __name__, url_prefix="/isp/monitoring", template_folder="../templates")

VIEW, MANAGE = "isp.monitoring.view", "isp.monitoring.manage"
PERIODS = (1, 7, 30)
MAX_ROWS = 1000


class ConfigForm(FlaskForm):
    alert_email = StringField(_l("Alert e-mail (empty: the location's address)"), validators=[Length(max=500)])
    down_after = StringField(_l("Down after failed checks"), validators=[DataRequired(), Length(max=3)])


class SnmpForm(FlaskForm):
    enabled = BooleanField(_l("Read interface counters over SNMP"), default=True)
    version = SelectField(_l("SNMP version"), choices=options([("2c", "v2c"), ("3", "v3")]), default="2c")
    port = StringField(_l("Port"), default="161", validators=[Length(max=5)])
    community = PasswordField(_l("Community (empty: keep the stored one)"), validators=[Optional(), Length(max=64)])
    username = StringField(_l("SNMPv3 user"), validators=[Optional(), Length(max=64)])
    auth_protocol = SelectField(_l("Authentication"), default="sha", choices=options([
        ("", _l("no authentication")), ("md5", "MD5"), ("sha", "SHA-1"), ("sha256", "SHA-256"), ("sha512", "SHA-512")]))
    auth_key = PasswordField(_l("Authentication key (empty: keep the stored one)"), validators=[Optional(), Length(max=64)])
    priv_protocol = SelectField(_l("Privacy"), default="aes", choices=options([
        ("", _l("no encryption")), ("des", "DES"), ("aes", "AES-128"), ("aes256", "AES-256")]))
    priv_key = PasswordField(_l("Privacy key (empty: keep the stored one)"), validators=[Optional(), Length(max=64)])


MAX_CHARTS = 4


def oper_labels() -> dict[int, str]:
    return {1: _("up"), 2: _("down"), 3: _("testing"), 4: _("unknown"), 5: _("dormant"), 6: _("not present"),
            7: _("lower layer down")}


def state_labels() -> dict[str, str]:
    return {UP: _("up"), DOWN: _("down"), UNKNOWN: _("unknown")}


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    session = db()
    down = monitoring.down_devices(session)
    outages = [(status, impact(session, status.device_id)) for status in down[:100]]
    rows = monitoring.statuses(session)[:MAX_ROWS]
    counts = {state: 0 for state in (UP, DOWN, UNKNOWN)}
    for row in rows:
        counts[row.state] += 1
    cfg = monitoring.config(session)
    form = ConfigForm(formdata=None, alert_email=cfg.alert_email, down_after=str(cfg.down_after))
    return render_template("isp/monitoring/index.html", outages=outages, rows=rows, counts=counts,
                           alerts=monitoring.alerts(session, state=OPEN), labels=state_labels(), form=form,
                           can_manage=has_permission(MANAGE), watched=len(monitoring.targets(session)))


@bp.get("/devices/<int:device_id>")
@permission_required(VIEW)
def device(device_id: int):  # noqa: ANN201
    session = db()
    found = session.scalar(select(Device).where(Device.id == device_id))
    if found is None:
        abort(404)
    wanted = request.args.get("days", "1")
    days = int(wanted) if wanted in {str(p) for p in PERIODS} else 1
    end = utcnow()
    start = end - timedelta(days=days)
    status = monitoring.status_of(session, found.id)
    availability = {p: monitoring.availability(session, found.id, end - timedelta(days=p), end, now=end)
                    for p in PERIODS}
    history = list(reversed(monitoring.intervals(session, found.id, start, end)))[:200]
    chart = rtt_chart(monitoring.latency(session, found.id, start, end), start, end,
                      title=_("Round-trip time of %(name)s", name=found.name))
    agent = traffic.agent_of(session, found.id)
    ports = traffic.interfaces_of(session, found.id)
    wanted_port = request.args.get("interface", type=int)
    if wanted_port and any(p.id == wanted_port for p in ports):
        shown = [p for p in ports if p.id == wanted_port]
    else:  # the busiest interfaces that are up
        shown = sorted((p for p in ports if p.oper_status == 1 and p.in_octets is not None),
                       key=lambda p: -((p.in_bps or 0) + (p.out_bps or 0)))[:MAX_CHARTS]
    charts = [(p, traffic_chart(traffic.traffic(session, p.id, start, end), start, end, chart_id=f"traffic-{p.id}",
                                title=_("Traffic of %(interface)s", interface=p.name or p.descr),
                                labels=(_("in"), _("out")))) for p in shown]
    form = SnmpForm(formdata=None, obj=None)
    if agent is not None:
        form.enabled.data, form.version.data, form.port.data = agent.enabled, agent.version, str(agent.port)
        form.username.data = agent.username
        form.auth_protocol.data, form.priv_protocol.data = agent.auth_protocol, agent.priv_protocol
    return render_template("isp/monitoring/device.html", device=found, status=status, availability=availability,
                           history=history, chart=chart, days=days, periods=PERIODS, labels=state_labels(),
                           alerts=monitoring.alerts(session, device_id=found.id, limit=50), agent=agent,
                           secrets=traffic.masked(agent), ports=ports[:MAX_ROWS], charts=charts, snmp_form=form,
                           oper=oper_labels(), rate=si_rate, can_manage=has_permission(MANAGE))


@bp.post("/devices/<int:device_id>/snmp")
@permission_required(MANAGE)
def save_snmp(device_id: int):  # noqa: ANN201
    session = db()
    found = session.scalar(select(Device).where(Device.id == device_id))
    if found is None:
        abort(404)
    form = SnmpForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return redirect(url_for(".device", device_id=found.id))
    try:
        traffic.save_agent(session, found, enabled=form.enabled.data, version=form.version.data, port=form.port.data,
                           community=form.community.data, username=form.username.data,
                           auth_protocol=form.auth_protocol.data, auth_key=form.auth_key.data,
                           priv_protocol=form.priv_protocol.data, priv_key=form.priv_key.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("SNMP settings saved."), "success")
    return redirect(url_for(".device", device_id=found.id))


@bp.post("/config")
@permission_required(MANAGE)
def save_config():  # noqa: ANN201
    form = ConfigForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return redirect(url_for(".index"))
    session = db()
    try:
        monitoring.save_config(session, alert_email=form.alert_email.data, down_after=form.down_after.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("Monitoring settings saved."), "success")
    return redirect(url_for(".index"))


def render_device_slot(found: Device) -> str:
    """The device card's monitoring line (empty without the permission or a management address)."""
    if not has_permission(VIEW) or not found.management_ip:
        return ""
    session = db()
    end = utcnow()
    return render_template("isp/monitoring/device_slot.html", device=found, labels=state_labels(),
                           status=monitoring.status_of(session, found.id), agent=traffic.agent_of(session, found.id),
                           availability=monitoring.availability(session, found.id, end - timedelta(days=7), end,
                                                                now=end))
