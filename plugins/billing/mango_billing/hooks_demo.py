"""Hooks of the billing plugin's demo area (listed in `PLUGIN.parts`): `mango demo`'s billing data."""

from __future__ import annotations

import click

from mango_core.plugins import hookimpl


@hookimpl
def mango_demo(session, mango, locations) -> None:  # noqa: ANN001
    """Plans, price list, dunning steps and two months of invoices and payments (see mango_billing.demo).

    A :class:`mango_billing.demo.DemoError` (a ValueError) reaches ``mango demo``, which reports it.
    """
    from mango_billing.demo import describe, load

    for line in describe(load(session, locations)):
        click.echo(f"Billing demo: {line}")
