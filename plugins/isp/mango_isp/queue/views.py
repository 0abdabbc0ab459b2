"""Opcare views of the provisioning queue: a device's tasks (Linux router or NETCONF device; page and
device card section), a
customer's services' tasks (card tab), and "retry now" (POST, ``isp.provisioning.manage``).

Everything is read in the request's location scope; a router or task of another location is 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mango_core.auth.access import permission_required
from mango_core.customers.card import TAB, CardPart
from mango_core.devices.models import Device
from mango_core.services import service as services
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.request import db
from mango_isp.queue import tasks
from mango_isp.queue.models import DONE, FAILED, QUEUED, RUNNING
from mango_isp.queue.routers import LINUX_ROUTER

if TYPE_CHECKING:
    from mango_core.customers.models import Customer

bp = Blueprint("isp_queue", __name__, url_prefix="/isp/provisioning", template_folder="../templates")

VIEW, MANAGE = "isp.provisioning.view", "isp.provisioning.manage"


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


def state_labels() -> dict[str, str]:
    return {QUEUED: _l("queued"), RUNNING: _l("running"), DONE: _l("done"), FAILED: _l("failed")}


def kind_labels() -> dict[str, str]:
    return {"activate": _l("activation"), "block": _l("block"), "unblock": _l("unblock"),
            "terminate": _l("termination"), "params": _l("parameters changed"),
            "change_product": _l("product changed"), "transfer": _l("transfer"), "devices": _l("devices changed"),
            "ipam": _l("addresses changed"), "retry": _l("retry"), "sync": _l("synchronisation")}


def _provisioned(device: Device) -> bool:
    """A Linux router, or a device the queue provisions over NETCONF."""
    from mango_isp.queue.netconf_devices import is_netconf_device

    return device.type_code == LINUX_ROUTER or is_netconf_device(db(), device.id)


def _router(device_id: int) -> Device:
    device = db().scalar(select(Device).where(Device.id == device_id))
    if device is None or not _provisioned(device):
        abort(404)
    return device


def _login_shown(device: Device) -> tuple[str, bool]:
    """The stored user name and whether a password is stored; the password itself is never shown."""
    from mango_isp.queue.credentials import credential_of

    row = credential_of(db(), device.id)
    return (row.username, bool(row.secret)) if row is not None else ("", False)


@bp.get("/routers/<int:device_id>")
@permission_required(VIEW)
def router(device_id: int):  # noqa: ANN201
    device = _router(device_id)
    username, has_secret = _login_shown(device)
    return render_template("isp/queue/router.html", device=device, tasks=tasks.tasks_of_router(db(), device.id),
                           states=state_labels(), kinds=kind_labels(), confirm=ConfirmForm(),
                           can_manage=has_permission(MANAGE), username=username, has_secret=has_secret,
                           netconf=device.type_code != LINUX_ROUTER)


@bp.post("/tasks/<int:task_id>/retry")
@permission_required(MANAGE)
def retry(task_id: int):  # noqa: ANN201
    session = db()
    try:
        task = tasks.get_task(session, task_id)
    except tasks.NotFound:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        tasks.retry_now(session, task, actor=current_user.id)
    except InvalidValue as exc:
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("The task is queued and runs with the next pass of the worker."), "success")
    return redirect(url_for("isp_queue.router", device_id=task.router_id))


def render_device_slot(device: Device) -> str:
    """The device card's provisioning section for a provisioned device (empty otherwise or without permission)."""
    if not has_permission(VIEW) or not _provisioned(device):
        return ""
    return render_template("isp/queue/device_slot.html", device=device,
                           tasks=tasks.tasks_of_router(db(), device.id, limit=10), states=state_labels(),
                           kinds=kind_labels())


def render_card(customer: Customer) -> str:
    session = db()
    rows = [(service, tasks.tasks_of_service(session, service.id, limit=20))
            for service in services.services_of_customer(session, customer.id)]
    routers = {d.id: d for d in session.scalars(select(Device).where(
        Device.id.in_({t.router_id for _s, ts in rows for t in ts})))} if rows else {}
    return render_template("isp/queue/card.html", customer=customer, rows=rows, routers=routers,
                           states=state_labels(), kinds=kind_labels(), confirm=ConfirmForm(),
                           can_manage=has_permission(MANAGE))


def card_parts() -> list[CardPart]:
    return [CardPart("isp_provisioning", _l("Provisioning"), render_card, kind=TAB, order=31,
                     permission=VIEW, icon="hdd-network")]
