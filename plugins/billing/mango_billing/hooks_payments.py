"""Hooks of the billing plugin's payments area (listed in `PLUGIN.parts`)."""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint
from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job
from mango_core.web.menu import MenuItem


@hookimpl
def mango_models() -> list[type]:
    from mango_billing.payments.models import MODELS

    return MODELS


@hookimpl
def mango_settings() -> dict[str, Any]:
    # fio_token_key: a Fernet key (cryptography.fernet.Fernet.generate_key()) that encrypts the Fio API
    # tokens at rest; several keys separated by commas rotate them (MultiFernet: the first encrypts).
    # sipo_organisation / sipo_payment_code: číslo organizace and kód poplatku of the SIPO contract.
    return {"fio_token_key": "", "fio_base_url": "", "sipo_organisation": "", "sipo_payment_code": ""}


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_billing.payments.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [
        MenuItem(_l("Payments"), "billing_payments.index", "billing.payments.view", section="billing", order=30,
                 icon="cash-coin"),
        MenuItem(_l("Payment pairing"), "billing_payments.pairing", "billing.payments.manage", section="billing",
                 order=31, icon="link"),
        MenuItem(_l("Bank statement import"), "billing_payments.import_form", "billing.payments.manage",
                 section="billing", order=32, icon="upload"),
    ]


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_billing.cli import billing
    from mango_billing.payments.commands import fio_token_command, import_command, sipo

    billing.add_command(import_command, "import")
    billing.add_command(fio_token_command, "fio-token")
    billing.add_command(sipo, "sipo")


@hookimpl
def mango_jobs() -> list[Job]:
    from mango_billing.payments.fio_download import FIO_DOWNLOAD

    return [FIO_DOWNLOAD]
