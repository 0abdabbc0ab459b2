"""Hooks of the billing plugin's screens area (listed in `PLUGIN.parts`): plans, card tabs, reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.customers.card import CardPart


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_billing.plan_views import bp as plans
    from mango_billing.report_views import bp as reports

    return [plans, reports]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [
        MenuItem(_l("Billing plans"), "billing_plans.index", "billing.plans.view", section="billing", order=10,
                 icon="calendar3"),
        MenuItem(_l("Billing reports"), "billing_reports.index", "billing.reports.view", section="billing",
                 order=90, icon="bar-chart"),
    ]


@hookimpl
def mango_customer_card(customer) -> list[CardPart]:  # noqa: ANN001
    from mango_billing.card import card_parts

    return card_parts()
