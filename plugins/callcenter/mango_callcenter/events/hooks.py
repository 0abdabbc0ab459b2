"""Hooks of the call centre events (listed in `PLUGIN.parts`): permissions, the ``callcenter:outages`` job,
Opcare pages and menu, the customer card's events tab, the Selfcare notice, the work order document kind,
GDPR erasure of the notices' addresses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.customers.card import CardPart
    from mango_core.customers.models import Customer


def _outages_job(ctx: JobContext) -> str:
    from mango_callcenter.events.notices import auto_notify
    from mango_callcenter.events.service import sync_alerts

    synced = sync_alerts(ctx.session, ctx.location_id)
    told = auto_notify(ctx.session)
    return f"{synced}; told automatically: {told}"


OUTAGES_JOB = Job(id="callcenter:outages", label=_l("Open outage events from the ISP monitoring's alerts"),
                  func=_outages_job, trigger={"trigger": "interval", "minutes": 2}, plugin="callcenter")


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("callcenter.events.view", _l("View planned works and outages")),
            Permission("callcenter.events.manage", _l("Announce planned works and outages, notify customers")),
            Permission("callcenter.visits.view", _l("View technician visits")),
            Permission("callcenter.visits.manage", _l("Schedule technician visits and record their outcome"))]


@hookimpl
def mango_jobs() -> list[Job]:
    return [OUTAGES_JOB]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_callcenter.events.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Outages and works"), "callcenter_events.events_list", "callcenter.events.view", section="support",
                     order=20, icon="exclamation-triangle"),
            MenuItem(_l("Technician visits"), "callcenter_events.calendar", "callcenter.visits.view",
                     section="support", order=30, icon="calendar-week")]


@hookimpl
def mango_customer_card(customer: Customer) -> list[CardPart]:  # noqa: ARG001
    from mango_callcenter.events.views import render_customer_events
    from mango_core.customers.card import TAB, CardPart

    return [CardPart("callcenter_events", _l("Outages and works"), render_customer_events, kind=TAB, order=57,
                     permission="callcenter.events.view", icon="exclamation-triangle")]


@hookimpl
def mango_customer_changed(customer: Customer, changes: dict[str, tuple[Any, Any]]) -> None:
    """An anonymised customer's event notices lose their addresses in the same transaction."""
    if "anonymised_at" not in changes:
        return
    from sqlalchemy.orm import object_session

    from mango_callcenter.events.notices import erase_customer

    erase_customer(object_session(customer), customer.id)


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """``selfcare_dashboard``: planned works and outages that affect the customer."""
    if slot == "selfcare_dashboard":
        from mango_callcenter.events.views import render_selfcare_notice

        return render_selfcare_notice(context["customer"]) or None
    return None


@hookimpl
def mango_document_kinds() -> list[Any]:
    from mango_callcenter.events.visits import work_order_kind

    return [work_order_kind()]
