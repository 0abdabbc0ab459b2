"""Opcare monitoring: devices down with the customers they cut off, every device's state, its
history, availability and RTT graph, and the location's alert settings."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from mango_core.auth.access import permission_required
from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.request import db
from mango_isp.monitoring import service as monitoring
from mango_isp.monitoring.chart import rtt_chart
from mango_isp.monitoring.models import DOWN, OPEN, UNKNOWN, UP
from mango_isp.topology.service import impact

bp = Blueprint("isp_monitoring", __name__, url_prefix="/isp/monitoring", template_folder="../templates")

VIEW, MANAGE = "isp.monitoring.view", "isp.monitoring.manage"
PERIODS = (1, 7, 30)
MAX_ROWS = 1000


class ConfigForm(FlaskForm):
    alert_email = StringField(_l("Alert e-mail (empty: the location's address)"), validators=[Length(max=500)])
    down_after = StringField(_l("Down after failed checks"), validators=[DataRequired(), Length(max=3)])


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
    return render_template("isp/monitoring/device.html", device=found, status=status, availability=availability,
                           history=history, chart=chart, days=days, periods=PERIODS, labels=state_labels(),
                           alerts=monitoring.alerts(session, device_id=found.id, limit=50))


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
                           status=monitoring.status_of(session, found.id),
                           availability=monitoring.availability(session, found.id, end - timedelta(days=7), end,
                                                                now=end))
