"""Hooks of the billing plugin's dunning area (listed in `PLUGIN.parts`): dunning and uniCredit."""

from __future__ import annotations

from datetime import date
from typing import Any

import click
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl


def _dunning_job(ctx) -> str:  # noqa: ANN001
    from mango_billing import dunning

    _proposals, result = dunning.run(ctx.session, date.today())
    return str(result)


def _prepaid_job(ctx) -> str:  # noqa: ANN001
    """A safety net: settle customers who have credit and open prepaid invoices (events do it at once)."""
    from mango_billing import prepaid

    result = prepaid.settle_all(ctx.session, date.today())
    return str(result)


@hookimpl
def mango_jobs() -> list[Any]:
    from mango_core.scheduler.jobs import Job

    return [Job(id="billing:dunning", label=_l("Dunning of overdue invoices"), func=_dunning_job,
                trigger={"trigger": "cron", "hour": 6, "minute": 30}, plugin="billing"),
            Job(id="billing:prepaid_settle", label=_l("Settle invoices from uniCredit"), func=_prepaid_job,
                trigger={"trigger": "interval", "hours": 1}, plugin="billing")]


@hookimpl
def mango_blueprints() -> list[Any]:
    from mango_billing.dunning_views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Dunning"), "billing_dunning.index", "billing.dunning.manage", section="billing", order=60,
                     icon="envelope-exclamation")]


@hookimpl
def mango_document_kinds() -> list[Any]:
    from mango_billing.dunning import reminder_kind

    return [reminder_kind()]


@hookimpl
def mango_invoices_issued(session, location_id: int, invoice_ids: list[int]) -> None:  # noqa: ANN001
    """Prepaid services' invoices are paid from credit; a credit note may clear a debt that keeps a block."""
    from sqlalchemy import select

    from mango_billing import dunning, prepaid
    from mango_billing.invoices import in_ids
    from mango_billing.models import Invoice

    ids = list(invoice_ids)
    prepaid.on_invoices_issued(session, ids)
    credited = set()
    for start in range(0, len(ids), 10_000):
        credited |= set(session.scalars(select(Invoice.customer_id).where(
            in_ids(session, Invoice.id, ids[start:start + 10_000]), Invoice.kind == "credit_note")))
    if credited:
        dunning.lift_debt_blocks(session, credited)


@hookimpl
def mango_payments_matched(session, location_id: int, payment_ids: list[int]) -> None:  # noqa: ANN001
    """Top-ups settle waiting prepaid invoices; paid-up customers get their debt blocks lifted at once."""
    from sqlalchemy import select

    from mango_billing import dunning, prepaid
    from mango_billing.invoices import in_ids
    from mango_billing.models import Payment

    ids = list(payment_ids)
    prepaid.on_payments_matched(session, ids)
    blocked = dunning.debt_blocked_customers(session)  # usually none of a statement's thousands of payers
    if not blocked:
        return
    customers = set()
    for start in range(0, len(ids), 10_000):  # one array parameter on PostgreSQL; SQLite's limit is 32,766
        customers |= set(session.scalars(select(Payment.customer_id).where(
            in_ids(session, Payment.id, ids[start:start + 10_000]), Payment.customer_id.in_(blocked))))
    if customers:
        dunning.lift_debt_blocks(session, customers)


@hookimpl
def mango_service_changed(service: Any, change: Any, effective: date) -> None:  # noqa: ANN401
    """uniCredit: the rest of the credit goes back when the customer's last prepaid service ends."""
    if change.kind != "terminate":
        return
    from sqlalchemy.orm import object_session

    from mango_billing import prepaid

    prepaid.on_service_ended(object_session(service), service, effective, actor=change.user_id)


@hookimpl
def mango_cli(cli: click.Group) -> None:  # noqa: ARG001 - adds to the billing group
    from mango_billing.cli import billing

    billing.add_command(dunning_command)


@click.command("dunning")
@click.option("--location", "location_code", required=True, metavar="CODE", help="The location to dun.")
@click.option("--dry-run", is_flag=True, help="Only list what would be done.")
@click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Plan as of this day (YYYY-MM-DD; with --dry-run only; default today).")
@with_appcontext
def dunning_command(location_code: str, dry_run: bool, on: Any) -> None:
    """Dun overdue invoices of location CODE: reminders, blocks, termination proposals."""
    from flask import current_app

    from mango_billing import dunning
    from mango_billing.cli import location_id
    from mango_core.tenancy import location_scope

    mango = current_app.extensions["mango"]
    today = on.date() if on else date.today()
    if on and not dry_run and today != date.today():
        raise click.UsageError("--date is for --dry-run only: dunning acts as of today")
    with location_scope(location_id(mango, location_code)), mango.db.session() as session:
        proposals, result = dunning.run(session, today, dry_run=dry_run)
        for p in proposals:
            numbers = ", ".join(i.number for i in p.invoices)
            click.echo(f"{p.customer_number}\t{p.customer_name}\t{p.step_name}\t{p.action}\t{p.amount}\t{numbers}")
        if result is None:
            click.echo(f"{len(proposals)} proposals (dry run: nothing done)")
            session.rollback()
            return
        session.commit()
        click.echo(str(result))
        for _key, message in result.failed:
            click.secho(message, fg="red", err=True)
        if result.failed:
            raise SystemExit(1)
