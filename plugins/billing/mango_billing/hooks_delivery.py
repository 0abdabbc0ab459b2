"""Hooks of the billing plugin's delivery area (listed in `PLUGIN.parts`): invoice e-mail and batch export."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Blueprint, current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext


def _deliver_job(ctx: JobContext) -> str:
    from mango_billing.delivery import DELIVERY_BATCH, prepare_invoice_mail

    limit = int(ctx.settings.get("delivery_batch", DELIVERY_BATCH))
    return str(prepare_invoice_mail(ctx.session, limit=limit))


DELIVER_JOB = Job(id="billing:deliver_invoices", label=_l("Prepare invoice e-mails (PDF and ISDOC)"),
                  func=_deliver_job, trigger={"trigger": "interval", "minutes": 1}, plugin="billing")


@hookimpl
def mango_invoices_issued(session, location_id: int, invoice_ids: list[int]) -> None:  # noqa: ANN001, ARG001
    """Hold one e-mail per issued document; the files are rendered later by ``billing:deliver_invoices``."""
    from mango_billing.delivery import queue_invoice_mail

    queue_invoice_mail(session, invoice_ids)


@hookimpl
def mango_jobs() -> list[Job]:
    return [DELIVER_JOB]


@hookimpl
def mango_document_kinds() -> list[Any]:
    """Invoices as a document kind: a location may write its own invoice layout on the documents screen."""
    from mango_billing.outputs.html import invoice_kind

    return [invoice_kind()]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_billing.delivery_views import bp

    return [bp]


@hookimpl
def mango_cli(cli: click.Group) -> None:  # noqa: ARG001 - adds to the billing group
    from mango_billing.cli import billing

    if "export" not in billing.commands:
        billing.add_command(export_command)


@click.command("export")
@click.option("--location", "location_code", required=True, metavar="CODE", help="Location code, e.g. PRG.")
@click.option("--period", required=True, help="Documents issued in this month, YYYY-MM.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="The zip to write.")
@click.option("--format", "formats", default="pdf,isdoc", show_default=True, help="pdf, isdoc or both.")
@with_appcontext
def export_command(location_code: str, period: str, out: str, formats: str) -> None:
    """Export the PDFs and ISDOC files of the documents issued in a month into a zip."""
    from pathlib import Path

    from mango_billing.cli import location_id
    from mango_billing.delivery import DeliveryError, export_zip, parse_formats, period_invoice_ids
    from mango_core.tenancy import location_scope

    mango: Any = current_app.extensions["mango"]
    code = location_code.strip().upper()
    scope = location_scope(location_id(mango, code))
    target = Path(out)
    partial = target.with_name(target.name + ".part")  # a failed export leaves no half zip behind
    try:
        chosen = parse_formats(formats)
        with scope, mango.db.session() as session:
            total = len(period_invoice_ids(session, period))
            with click.progressbar(length=max(total, 1), label=f"Export {code} {period}",
                                   file=sys.stderr, show_pos=True) as bar:
                state = {"done": 0}

                def progress(done: int, _total: int) -> None:
                    bar.update(done - state["done"])
                    state["done"] = done

                result = export_zip(session, period, str(partial), formats=chosen, progress=progress)
        partial.replace(target)
    except DeliveryError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{code} {period}: {result.documents} documents, {len(result.files)} files -> {target}")
