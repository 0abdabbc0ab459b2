"""Hooks of the helpdesk (listed in `PLUGIN.parts`): permissions, settings, the ``callcenter:sla`` job,
Opcare pages and menu, the customer card's tickets tab, and the Selfcare pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext
from mango_core.selfcare.menu import SelfcareMenuItem

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.customers.card import CardPart
    from mango_core.customers.models import Customer


def _sla_job(ctx: JobContext) -> str:
    from mango_callcenter.helpdesk.sla import check_breaches

    return str(check_breaches(ctx.session))


SLA_JOB = Job(id="callcenter:sla", label=_l("Mark and announce SLA breaches of tickets"), func=_sla_job,
              trigger={"trigger": "interval", "minutes": 5}, plugin="callcenter")


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("callcenter.tickets.view", _l("View helpdesk tickets")),
            Permission("callcenter.tickets.manage", _l("Create, answer, assign and close helpdesk tickets")),
            Permission("callcenter.settings.manage", _l("Manage helpdesk queues, categories and SLA"))]


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {
        "attachment_max_bytes": 10 * 1024 * 1024,  # one file of a ticket at most
        "attachments_per_message": 5,
        "reply_to": "",  # where customers' answers to replies go; empty: the location's e-mail address
    }


@hookimpl
def mango_jobs() -> list[Job]:
    return [SLA_JOB]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_callcenter.helpdesk.selfcare_views import bp as selfcare_bp
    from mango_callcenter.helpdesk.views import bp

    return [bp, selfcare_bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Tickets"), "callcenter.tickets", "callcenter.tickets.view", section="support", order=10,
                     icon="life-preserver"),
            MenuItem(_l("Helpdesk settings"), "callcenter.settings", "callcenter.settings.manage", section="support",
                     order=90, icon="sliders")]


@hookimpl
def mango_customer_card(customer: Customer) -> list[CardPart]:  # noqa: ARG001
    from mango_callcenter.helpdesk.views import render_customer_tickets
    from mango_core.customers.card import TAB, CardPart

    return [CardPart("callcenter_tickets", _l("Tickets"), render_customer_tickets, kind=TAB, order=50,
                     permission="callcenter.tickets.view", icon="life-preserver")]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """``dashboard``: the user's active and overdue tickets; ``selfcare_dashboard``: the customer's open requests."""
    if slot == "dashboard":
        from mango_callcenter.helpdesk.views import render_dashboard

        return render_dashboard() or None
    if slot == "selfcare_dashboard":
        from mango_callcenter.helpdesk.selfcare_views import render_dashboard as render_portal

        return render_portal(context["customer"]) or None
    return None


@hookimpl
def mango_customer_changed(customer: Customer, changes: dict[str, tuple[Any, Any]]) -> None:
    """An anonymised customer's tickets lose their personal content in the same transaction."""
    if "anonymised_at" not in changes:
        return
    from sqlalchemy.orm import object_session

    from mango_callcenter.helpdesk.service import erase_customer

    erase_customer(object_session(customer), customer.id)


@hookimpl
def mango_selfcare_menu_items() -> list[SelfcareMenuItem]:
    return [SelfcareMenuItem(_l("Support"), "callcenter_selfcare.tickets", order=50, icon="life-preserver")]
