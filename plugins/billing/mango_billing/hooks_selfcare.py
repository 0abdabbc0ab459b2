"""Hooks of the billing plugin's Selfcare pages (listed in `PLUGIN.parts`): invoices, payments, uniCredit.

Billing uses the portal's plugin mechanism exactly as a third-party plugin would: its blueprint
``billing_selfcare``, entries of ``mango_selfcare_menu_items`` and fragments for the slots
``selfcare_dashboard`` (balance, unpaid invoices with their QR Platba, the next expected charge)
and ``selfcare_service`` (the service's price).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl
from mango_core.selfcare.menu import SelfcareMenuItem

if TYPE_CHECKING:
    from flask import Blueprint


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_billing.selfcare_views import bp

    return [bp]


@hookimpl
def mango_selfcare_menu_items() -> list[SelfcareMenuItem]:
    return [
        SelfcareMenuItem(_l("Invoices"), "billing_selfcare.invoices", order=20, icon="receipt"),
        SelfcareMenuItem(_l("Payments"), "billing_selfcare.payments", order=30, icon="cash-coin"),
        SelfcareMenuItem(_l("uniCredit"), "billing_selfcare.credit", order=40, icon="wallet2"),
    ]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    if slot == "selfcare_dashboard":
        from mango_billing.selfcare_views import render_dashboard

        return render_dashboard(context["customer"])
    if slot == "selfcare_service":
        from mango_billing.selfcare_views import render_service

        return render_service(context["service"])
    return None
