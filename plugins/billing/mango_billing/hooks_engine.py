"""Hooks of the billing plugin's engine area (listed in `PLUGIN.parts`): plans, runs, invoices, credit notes."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click
from flask import Blueprint, current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext
from mango_core.web.menu import MenuItem


def location_today(location: Any) -> date:  # noqa: ANN401 - a Location
    """Today at the location (its time zone): the run after midnight in Prague is already the 1st."""
    from mango_core.tenancy import clock

    return clock.today(clock.location_zone(location))


def scheduled_run(ctx: JobContext) -> str | None:
    """Bill the current month, each customer on their billing day (the earliest of their plans').

    Runs daily: on the 1st it bills the customers of plans with billing day 1, on the 15th those
    of day 15, and so on; the month's run is done once the last billing day has come. Safe to run
    again: customers with an invoice of the run are not billed twice, an interrupted run continues.
    """
    from mango_billing.run import run_billing
    from mango_core.tenancy.models import Location

    location = ctx.session.get(Location, ctx.location_id)
    today = location_today(location)
    result = run_billing(ctx.session, location, today.replace(day=1), due_by=today, issued_on=today)
    if result.already_done:
        return f"{today:%Y-%m} billed already"
    text = f"{result.invoices} invoices, total {result.total}"
    if result.waiting:
        text += f"; {result.waiting} customers wait for their billing day"
    return text


RUN_JOB = Job(id="billing:run", label=_l("Billing run of the current month"), func=scheduled_run,
              trigger={"trigger": "cron", "hour": 3, "minute": 10})


@hookimpl
def mango_jobs() -> list[Job]:
    return [RUN_JOB]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_billing.engine_views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [
        MenuItem(_l("Invoices"), "billing_invoices.invoices", "billing.invoices.view", section="billing", order=20,
                 icon="receipt"),
        MenuItem(_l("Billing run"), "billing_invoices.runs", "billing.invoices.issue", section="billing", order=21,
                 icon="calendar-check"),
    ]


@click.command("run")
@click.option("--location", "location_code", required=True, help="Location code, e.g. PRG.")
@click.option("--period", required=True, help="The month to bill, YYYY-MM.")
@click.option("--dry-run", is_flag=True, help="Compute and print; write nothing.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def run_command(location_code: str, period: str, dry_run: bool, batch_size: int, as_json: bool) -> None:
    """Bill a month in a location: rate services, issue invoices (idempotent; an interrupted run continues)."""
    from mango_billing.cli import location_id as billing_location
    from mango_billing.run import RunError, period_bounds, run_billing
    from mango_core.tenancy.context import location_scope

    mango = current_app.extensions["mango"]
    try:
        period_bounds(period)
    except RunError as exc:
        raise click.ClickException(str(exc)) from exc
    location_id = billing_location(mango, location_code)
    with location_scope(location_id), mango.db.session() as session:
        from mango_core.tenancy.models import Location

        location = session.get(Location, location_id)
        bar_state = {"done": 0}
        with click.progressbar(length=1, label=f"Billing {location.code} {period}", file=sys.stderr,
                               show_pos=True) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar_state["done"])
                bar_state["done"] = done

            try:
                result = run_billing(session, location, period, dry_run=dry_run, batch_size=batch_size,
                                     progress=progress)
            except RunError as exc:
                raise click.ClickException(str(exc)) from exc
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
    elif result.already_done:
        click.echo(f"{location_code} {period}: billed already (run {result.run_id}); nothing issued.")
    else:
        verb = "would issue" if dry_run else "issued"
        click.echo(f"{summary['location']} {summary['period']}: {verb} {result.invoices} invoices "
                   f"({result.lines} lines) for {result.customers} customers, total {summary['total']}.")


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_billing.cli import billing

    if "run" not in billing.commands:
        billing.add_command(run_command)
