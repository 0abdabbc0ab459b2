"""The ``mango billing`` command group; each area adds its commands through its hooks module."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mango_core.kernel import Mango


@click.group("billing")
def billing() -> None:
    """Billing: runs, invoices, bank imports, SIPO and dunning."""


def location_id(mango: Mango, code: str) -> int:
    """The id of the location ``code`` (any case) where billing is enabled, or a clear CLI error.

    Every billing command takes ``--location CODE`` and looks it up here, so they all refuse an
    unknown code and a location without the billing module the same way.
    """
    from sqlalchemy import select

    from mango_core.tenancy.context import operator_scope
    from mango_core.tenancy.models import Location

    with operator_scope(), mango.db.session() as session:
        found = session.scalar(select(Location.id).where(Location.code == (code or "").strip().upper()))
    if found is None:
        raise click.BadParameter(f"no location with code {code!r}", param_hint="--location")
    if not mango.is_active("billing", found):
        raise click.ClickException(f"the billing module is not enabled in {code.strip().upper()}")
    return found
