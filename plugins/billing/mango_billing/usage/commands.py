"""``mango billing cdr import`` and ``mango billing usage rate``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from mango_billing.cli import location_id as billing_location
from mango_billing.usage.cdr import CdrError
from mango_billing.usage.pricelist import RatingError
from mango_billing.usage.store import UsageError, collect_counters, import_cdr, rate_period
from mango_core.tenancy import location_scope


def month(text: str) -> tuple[date, date]:
    """``YYYY-MM`` → the month as [first day, first day of the next month)."""
    try:
        year, number = (int(part) for part in text.split("-"))
        start = date(year, number, 1)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a month as YYYY-MM") from exc
    return start, date(year + number // 12, number % 12 + 1, 1)



@click.group("cdr")
def cdr() -> None:
    """Call detail records of VoIP services."""


@cdr.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--location", "code", required=True, help="Location code.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON column mapping for a PBX other than Asterisk.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def import_command(file: Path, code: str, mapping: Path | None, as_json: bool) -> None:
    """Store the calls of FILE once each (a repeated import stores nothing twice)."""
    mango = current_app.extensions["mango"]
    location_id = billing_location(mango, code)
    with mango.db.session() as session:
        try:
            column_mapping = json.loads(mapping.read_text(encoding="utf-8")) if mapping else None
            with location_scope(location_id):
                result = import_cdr(session, file.read_bytes(), mapping=column_mapping)
            session.commit()
        except (CdrError, UsageError, ValueError) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return
    click.echo(f"{result.new} new calls, {result.duplicates} already imported.")
    if result.unknown:
        click.echo(f"{len(set(result.unknown))} numbers belong to no service: "
                   + ", ".join(sorted(set(result.unknown))[:10]))

@click.group("usage")
def usage() -> None:
    """Usage rating (calls, counters of other plugins)."""


@usage.command("rate")
@click.option("--location", "code", required=True, help="Location code.")
@click.option("--period", required=True, help="Month as YYYY-MM.")
@with_appcontext
def rate_command(code: str, period: str) -> None:
    """Collect the plugins' counters and price the period's usage not yet invoiced."""
    start, end = month(period)
    mango = current_app.extensions["mango"]
    location_id = billing_location(mango, code)
    with mango.db.session() as session:
        try:
            with location_scope(location_id):
                collected = collect_counters(session, mango, location_id, start, end)
                summary = rate_period(session, start, end)
            session.commit()
        except (UsageError, RatingError) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{collected} new counters; {summary.services} services, {summary.priced} items priced "
               f"(total {summary.total}), {summary.unpriced} left unpriced.")
    for problem in summary.problems:
        click.secho(f"  {problem}", fg="yellow")



