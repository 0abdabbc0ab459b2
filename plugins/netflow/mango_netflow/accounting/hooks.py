"""Hooks of the NetFlow accounting (listed in `PLUGIN.parts`): the job ``netflow:accounting``, the
"Traffic" tab of the customer card, the portal's "Data usage" page and service panel, and the data
volume billing rates (``mango_usage_counters``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext
from mango_core.selfcare.menu import SelfcareMenuItem

if TYPE_CHECKING:
    from datetime import date

    from flask import Blueprint
    from sqlalchemy.orm import Session

    from mango_core.customers.card import CardPart
    from mango_core.customers.models import Customer


def _accounting_job(ctx: JobContext) -> str:
    from mango_netflow.accounting.service import run

    return str(run(ctx.session, ctx.location_id, settings=ctx.settings))


ACCOUNTING_JOB = Job(id="netflow:accounting", label=_l("Account traffic of services per hour (NetFlow)"),
                     func=_accounting_job, trigger={"trigger": "cron", "minute": 25}, plugin="netflow")


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("netflow.traffic.view", _l("View traffic of customers' services"))]


@hookimpl
def mango_settings() -> dict[str, Any]:
    from mango_netflow.accounting.service import DEFAULTS

    return dict(DEFAULTS)


@hookimpl
def mango_jobs() -> list[Job]:
    return [ACCOUNTING_JOB]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_netflow.accounting.views import selfcare_bp

    return [selfcare_bp]


@hookimpl
def mango_customer_card(customer: Customer) -> list[CardPart]:
    from mango_netflow.accounting.views import card_parts

    return card_parts()


@hookimpl
def mango_selfcare_menu_items() -> list[SelfcareMenuItem]:
    return [SelfcareMenuItem(_l("Data usage"), "netflow_selfcare.traffic", order=60, icon="bar-chart")]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    if slot == "selfcare_service" and context.get("service") is not None:
        from mango_netflow.accounting.views import render_service

        return render_service(context["service"])
    return None


@hookimpl
def mango_usage_counters(session: Session, location_id: int, period_start: date,
                         period_end: date) -> list[dict[str, Any]]:
    from mango_netflow.accounting.service import usage_counters

    return usage_counters(session, location_id, period_start, period_end)
