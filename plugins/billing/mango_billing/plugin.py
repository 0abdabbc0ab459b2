"""The billing plugin's registration with the Mango kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import PluginMeta, hookimpl

HERE = Path(__file__).resolve().parent

PLUGIN = PluginMeta(
    title="Billing",
    description="Recurring billing, Czech tax invoices, the ledger, bank import, SIPO, uniCredit and dunning.",
    # each area registers its own hooks (jobs, commands, screens) beside its code
    parts=(
        "mango_billing.hooks_engine",    # plans, billing runs, invoices, credit notes
        "mango_billing.hooks_payments",  # payments, bank import, pairing, SIPO
        "mango_billing.hooks_screens",   # plans UI, customer card tabs, reports
        "mango_billing.hooks_dunning",   # dunning and uniCredit (prepaid credit)
        "mango_billing.hooks_usage",     # CDR import and usage rating
        "mango_billing.hooks_delivery",  # invoice e-mail (PDF + ISDOC) and batch export
        "mango_billing.hooks_demo",      # demo data for `mango demo`
        "mango_billing.hooks_api",       # REST API resources: invoices, payments
        "mango_billing.hooks_selfcare",  # Selfcare pages: invoices, payments, uniCredit
        "mango_billing.hooks_gateway",   # online card payments through a payment gateway
    ),
)


@hookimpl
def mango_models() -> list[type]:
    from mango_billing.models import MODELS

    return MODELS


@hookimpl
def mango_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def mango_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {}


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("billing.plans.view", _l("View billing plans")),
        Permission("billing.plans.manage", _l("Manage billing plans")),
        Permission("billing.invoices.view", _l("View invoices")),
        Permission("billing.invoices.issue", _l("Run billing and issue invoices and credit notes")),
        Permission("billing.payments.view", _l("View payments")),
        Permission("billing.payments.manage", _l("Record, import and pair payments")),
        Permission("billing.dunning.manage", _l("Run dunning")),
        Permission("billing.reports.view", _l("View billing reports")),
    ]


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_billing.cli import billing

    cli.add_command(billing)
