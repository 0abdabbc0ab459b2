"""Hooks of the billing plugin's usage area: CDR import and usage rating commands."""

from __future__ import annotations

import click

from mango_core.plugins import hookimpl


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_billing.cli import billing
    from mango_billing.usage.commands import cdr, usage

    billing.add_command(cdr)
    billing.add_command(usage)
