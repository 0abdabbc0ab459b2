"""The ``mango billing`` command group; each area adds its commands through its hooks module."""

from __future__ import annotations

import click


@click.group("billing")
def billing() -> None:
    """Billing: runs, invoices, bank imports, SIPO and dunning."""
