"""Hooks of the provisioning area (listed in `PLUGIN.parts`): the Linux router device type, the
permissions, the jobs ``isp:provision`` and ``isp:reconcile``, tasks from service changes, and the
Opcare views of the queue (a device's tasks, a service's tasks on the customer card)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.customers.card import CardPart
    from mango_core.devices.types import DeviceTypeDef
    from mango_core.services.events import ServiceChangeInfo
    from mango_core.services.models import Service

VIEW, MANAGE = "isp.provisioning.view", "isp.provisioning.manage"
# service changes that alter what a router should hold
PROVISIONED_CHANGES = ("activate", "block", "unblock", "terminate", "params", "change_product", "transfer", "devices")


def _provision(ctx: JobContext) -> str:
    from mango_isp.queue.tasks import Policy
    from mango_isp.queue.worker import run_queue

    return str(run_queue(ctx.session, Policy.from_settings(ctx.settings)))


def _reconcile(ctx: JobContext) -> str:
    from mango_isp.queue.worker import reconcile

    return str(reconcile(ctx.session))


PROVISION_JOB = Job(id="isp:provision", label=_l("Provision routers and NETCONF devices from the task queue"), func=_provision,
                    trigger={"trigger": "interval", "seconds": 15}, plugin="isp")
RECONCILE_JOB = Job(id="isp:reconcile", label=_l("Compare routers and NETCONF devices with the data and repair drift"),
                    func=_reconcile, trigger={"trigger": "cron", "minute": 17}, plugin="isp")


@hookimpl
def mango_jobs() -> list[Job]:
    return [PROVISION_JOB, RECONCILE_JOB]


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {
        # Fernet keys of device credentials, the first encrypts (mango_isp.queue.secrets)
        "secret_keys": [],
        "provision_backoff_seconds": 30,
        "provision_backoff_max_seconds": 3600,
        "provision_max_attempts": 12,
        "provision_lease_seconds": 900,
        "provision_batch": 500,
    }


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission(VIEW, _l("View provisioning tasks of routers and services")),
        Permission(MANAGE, _l("Retry provisioning tasks")),
    ]


@hookimpl
def mango_device_types() -> list[DeviceTypeDef]:
    from mango_isp.queue.routers import device_types

    return device_types()


@hookimpl
def mango_service_changed(service: Service, change: ServiceChangeInfo, effective: date) -> None:  # noqa: ARG001
    """Queue the service (and a transfer's new service) for the routers concerned; runs in the
    change's transaction, so the task exists exactly when the change does."""
    if change.kind not in PROVISIONED_CHANGES:
        return
    from sqlalchemy.orm import object_session

    from mango_core.services.models import Service as ServiceModel
    from mango_isp.queue.tasks import enqueue_service

    session = object_session(service)
    if session is None:  # pragma: no cover - lifecycle operations always work on a session's objects
        return
    enqueue_service(session, service, change.kind, actor=change.user_id)
    if change.kind == "transfer":
        new_id = (change.changes.get("transferred_to") or (None, None))[1]
        new = session.get(ServiceModel, new_id) if new_id else None
        if new is not None:
            enqueue_service(session, new, "transfer", actor=change.user_id)


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_isp.queue.views import bp

    return [bp]


@hookimpl
def mango_customer_card(customer) -> list[CardPart]:  # noqa: ANN001, ARG001
    from mango_isp.queue.views import card_parts

    return card_parts()


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """``device_card``: a provisioned device's tasks (Linux router or NETCONF device), with the link to its page."""
    if slot != "device_card" or context.get("device") is None:
        return None
    from mango_isp.queue.views import render_device_slot

    return render_device_slot(context["device"]) or None
