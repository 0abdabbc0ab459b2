"""``mango example …``: the example plugin's command-line group."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from mango_core.tenancy import operator_scope
from mango_core.tenancy.models import Location
from mango_example.models import ExampleNote


@click.group("example")
def example() -> None:
    """The example plugin's tools."""


@example.command("count")
@with_appcontext
def count() -> None:
    """Print the number of notes in every location (operator tool)."""
    mango = current_app.extensions["mango"]
    with operator_scope(), mango.db.session() as session:
        rows = session.execute(
            select(Location.code, func.count(ExampleNote.id))
            .join(ExampleNote, ExampleNote.location_id == Location.id, isouter=True)
            .group_by(Location.code)
            .order_by(Location.code)
        )
        for code, n in rows:
            click.echo(f"{code}\t{n}")
