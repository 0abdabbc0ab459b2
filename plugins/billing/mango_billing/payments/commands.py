"""``mango billing import``, ``fio-token`` and ``sipo export|import`` (added to the billing group by hooks)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from mango_billing.bank import FORMATS, StatementError
from mango_billing.cli import location_id as billing_location
from mango_billing.sipo.codec import SipoError

BIG_FILE = 5000  # movements from which the import shows its progress


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--location", "location_code", required=True, help="Code of the location (CT) the account belongs to.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="The file's format (detected when left out).")
@click.option("--account", "account_id", type=int, help="Id of the location's bank account (when the file's "
              "account number cannot be found).")
@click.option("--no-check-totals", is_flag=True, help="Accept an excerpt whose movements do not add up to the "
              "header (Fio 'since last download').")
@click.option("--json", "as_json", is_flag=True, help='Print {"new", "duplicates", "matched", "unmatched"}.')
@with_appcontext
def import_command(file: str, location_code: str, fmt: str | None, account_id: int | None, no_check_totals: bool,
                   as_json: bool) -> None:
    """Import a bank statement FILE: store new payments, skip duplicates, match by variable symbol."""
    from mango_billing.payments.importer import import_statement

    data = _read(file)
    mango = current_app.extensions["mango"]
    bar: dict = {}

    def progress(done: int, total: int) -> None:
        if total < BIG_FILE:
            return
        if "bar" not in bar:
            bar["bar"] = click.progressbar(length=total, label="importing", file=sys.stderr)
            bar["bar"].__enter__()
        bar["bar"].update(done - bar["bar"].pos)

    location_id = billing_location(mango, location_code)
    with mango.db.session() as session:
        try:
            summary = import_statement(session, location_id, data, Path(file).name, fmt, account_id,
                                       check_totals=False if no_check_totals else None, progress=progress)
            session.commit()
        except StatementError as exc:
            session.rollback()
            raise click.ClickException(f"{Path(file).name}: {exc}") from None
        finally:
            if "bar" in bar:
                bar["bar"].__exit__(None, None, None)
    if as_json:
        click.echo(summary.as_json())
    else:
        click.echo(f"new: {summary.new}, duplicates: {summary.duplicates}, matched: {summary.matched}, "
                   f"unmatched: {summary.unmatched}")


@click.command("fio-token")
@click.option("--location", "location_code", required=True, help="Code of the location (CT) the account belongs to.")
@click.option("--account", "account_id", type=int, required=True, help="Id of the location's bank account.")
@click.option("--base-url", help="The Fio API's address (default: the billing setting fio_base_url, else Fio's).")
@click.option("--disable", is_flag=True, help="Switch the account's automatic download off (the token is kept).")
@with_appcontext
def fio_token_command(location_code: str, account_id: int, base_url: str | None, disable: bool) -> None:
    """Store the Fio API token of a bank account, encrypted; it is read from a hidden prompt or from stdin."""
    from mango_billing.payments.fio_download import FioLinkError, cipher, set_token
    from mango_billing.payments.models import FioLink
    from mango_core.tenancy.context import location_scope
    from mango_core.tenancy.models import BankAccount

    if base_url is not None and (disable or not base_url.startswith(("https://", "http://")) or len(base_url) > 200):
        raise click.BadParameter("an http(s) address of at most 200 characters, and not with --disable",
                                 param_hint="--base-url")
    mango = current_app.extensions["mango"]
    location_id = billing_location(mango, location_code)
    with location_scope(location_id), mango.db.session() as session:
        account = session.get(BankAccount, account_id)  # the tenant guard keeps other locations' accounts out
        if account is None:
            raise click.ClickException(f"bank account #{account_id} is not an account of this location")
        shown = f"#{account.id} {account.label} ({account.account_number or account.iban})"
        if disable:
            link = session.scalar(select(FioLink).where(FioLink.bank_account_id == account_id))
            if link is None:
                raise click.ClickException(f"bank account {shown} has no Fio token")
            link.is_active = False
            session.commit()
            click.echo(f"Fio download of bank account {shown} switched off (token …{link.token_hint} kept).")
            return
        try:
            cipher()  # no key configured: say so before the token is typed in
            # getpass would read the terminal rather than a pipe, when there is one: scripts pipe the token
            token = click.prompt("Fio API token", hide_input=True) if sys.stdin.isatty() else sys.stdin.readline()
            link = set_token(session, account_id, token, base_url=base_url)
        except FioLinkError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(f"Fio token of bank account {shown} stored: …{link.token_hint}.")


@click.group("sipo")
def sipo() -> None:
    """SIPO (Česká pošta): prescription changes out, paid payments in."""


def _period(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a month; use YYYY-MM") from None


@sipo.command("export")
@click.option("--location", "location_code", required=True)
@click.option("--period", required=True, help="The month, YYYY-MM.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The change file (ZM…); the cover "
              "file (OP…) is written beside it.")
@click.option("--organisation", help="Číslo organizace (default: the billing setting sipo_organisation).")
@click.option("--payment-code", help="Kód poplatku (default: the billing setting sipo_payment_code).")
@with_appcontext
def sipo_export(location_code: str, period: str, out: str, organisation: str | None,
                payment_code: str | None) -> None:
    """Write the month's prescription changes for Česká pošta."""
    from mango_billing.payments.sipo import export_changes

    mango = current_app.extensions["mango"]
    settings = mango.plugin_settings("billing")
    organisation = organisation or str(settings.get("sipo_organisation") or "")
    payment_code = payment_code or str(settings.get("sipo_payment_code") or "")
    if not organisation or not payment_code:
        raise click.ClickException("set --organisation and --payment-code (or the billing settings "
                                   "sipo_organisation and sipo_payment_code)")
    with mango.db.session() as session:
        try:
            result = export_changes(session, billing_location(mango, location_code), _period(period),
                                    organisation=organisation, payment_code=payment_code)
        except SipoError as exc:
            raise click.ClickException(str(exc)) from None
    target = Path(out)
    target.write_bytes(result.changes)
    (target.parent / result.cover_file_name).write_bytes(result.cover)
    for line in result.skipped:
        click.echo(f"skipped {line}", err=True)
    click.echo(f"{len(result.records)} changes written to {target} (cover {result.cover_file_name})")


@sipo.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--location", "location_code", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def sipo_import(file: str, location_code: str, as_json: bool) -> None:
    """Book a SIPO paid-payments file (ZA…)."""
    import json

    from mango_billing.payments.sipo import import_results

    data = _read(file)
    mango = current_app.extensions["mango"]
    with mango.db.session() as session:
        try:
            summary = import_results(session, billing_location(mango, location_code), data, Path(file).name)
            session.commit()
        except SipoError as exc:
            session.rollback()
            raise click.ClickException(f"{Path(file).name}: {exc}") from None
    counts = {"new": summary.new, "duplicates": summary.duplicates, "matched": summary.matched,
              "unmatched": summary.unmatched, "unpaid": summary.unpaid}
    click.echo(json.dumps(counts) if as_json else ", ".join(f"{k}: {v}" for k, v in counts.items()))


@sipo.command("rejections")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--location", "location_code", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def sipo_rejections(file: str, location_code: str, as_json: bool) -> None:
    """List the changes of a SIPO rejection protocol (ZZ…) with their customers and reasons; stores nothing."""
    import json

    from mango_billing.payments.sipo import refused_changes

    data = _read(file)
    mango = current_app.extensions["mango"]
    with mango.db.session() as session:
        try:
            refused = refused_changes(session, billing_location(mango, location_code), data)
        except SipoError as exc:
            raise click.ClickException(f"{Path(file).name}: {exc}") from None
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in refused]))
        return
    for r in refused:
        who = f"customer #{r.customer_id}" if r.customer_id else "no customer"
        what = f"{r.period:%m/%Y} {r.amount} Kč" if r.period else "unreadable line"
        click.echo(f"{r.connection_number or '?'} ({who}) {what}: {'; '.join(r.reasons)}")
    click.echo(f"{len(refused)} changes refused; fix the cause, then export the month again", err=True)
