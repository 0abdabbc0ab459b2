"""Hooks of the billing plugin's screens area (listed in `PLUGIN.parts`): plans, card tabs, reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """``product_form``: the product's billing plan and a link to the page where it is chosen."""
    if slot != "product_form" or context.get("product") is None:
        return None
    from flask import url_for
    from flask_babel import gettext as _
    from markupsafe import Markup

    from mango_billing.models import BillingPlan
    from mango_billing.plan_views import VIEW
    from mango_billing.plans import product_plan_id
    from mango_core.web.access import has_permission
    from mango_core.web.request import db

    if not has_permission(VIEW):
        return None
    product = context["product"]
    plan_id = product_plan_id(product)
    plan = db().get(BillingPlan, plan_id) if plan_id is not None else None
    # a missing or inactive plan is billed by the default terms (mango_billing.plans): say "none" then
    name = f"{plan.code} – {plan.name}" if plan is not None and plan.is_active else _("— none —")
    link = url_for("billing_plans.product_plan", product_id=product.id)
    title = _("Billing plan of product %(code)s", code=product.code)
    return Markup(
        '<p class="text-muted small" id="product-billing-plan">{label}: <strong>{name}</strong> — '
        '<a href="{link}" id="product-billing-plan-link" title="{title}" aria-label="{title}">'
        '<i class="bi bi-pencil-square"></i> {change}</a></p>').format(
            label=_("Billing plan"), name=name, link=link, title=title, change=_("change"))
