"""The ``mango isp`` command group: who had an address, and the import of received stock.

``mango isp who --ip X [--at TIME] [--port P] [--location CODE] [--json]`` answers a data
retention request from the assignment and CGNAT history. Without ``--location`` it looks in every
location (the operator's view); a time without a zone is local time of ``default_timezone``.

``mango isp stock import FILE --location CODE --warehouse CODE [--reference REF]`` receives a
delivery from CSV (see :mod:`mango_isp.stock.importer`); a reference imported before is skipped.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from mango_core.db import utcnow
from mango_core.tenancy.validators import InvalidValue


@click.group("isp")
def isp() -> None:
    """ISP: IP address history ("who had X at T") and stock."""


def _location(mango, code: str) -> tuple[int, str]:  # noqa: ANN001
    """The id of the location ``code`` (any case) where the ISP module is enabled, or a CLI error."""
    from sqlalchemy import select

    from mango_core.tenancy.context import operator_scope
    from mango_core.tenancy.models import Location

    wanted = (code or "").strip().upper()
    with operator_scope(), mango.db.session() as session:
        found = session.scalar(select(Location.id).where(Location.code == wanted))
    if found is None:
        raise click.BadParameter(f"no location with code {code!r}", param_hint="--location")
    if not mango.is_active("isp", found):
        raise click.ClickException(f"the isp module is not enabled in {wanted}")
    return found, wanted


def _scope(mango, code: str | None) -> AbstractContextManager:  # noqa: ANN001
    from mango_core.tenancy.context import location_scope, operator_scope

    if code:
        return location_scope(_location(mango, code)[0])
    return operator_scope()


@isp.command("who")
@click.option("--ip", "ip", required=True, help="The IPv4 or IPv6 address.")
@click.option("--at", "at_text", default=None,
              help="When: 2025-03-01T14:30:00+01:00, or local time 2025-03-01 14:30 (default: now).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Source port, for a public address of a CGNAT pool.")
@click.option("--location", "location_code", default=None, help="Only this location (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def who(ip: str, at_text: str | None, port: int | None, location_code: str | None, as_json: bool) -> None:
    """Who held address IP at a time (directly or through CGNAT)."""
    from mango_isp.ipam.lookup import who_had
    from mango_isp.times import parse_moment

    mango = current_app.extensions["mango"]
    zone = ZoneInfo(mango.settings["default_timezone"])
    try:
        at = parse_moment(at_text, zone, "at") if at_text else utcnow()
        with _scope(mango, location_code), mango.db.session() as session:
            holders = who_had(session, ip, at, port)
            codes = _location_codes(session, {h.location_id for h in holders})
    except InvalidValue as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        payload = {"ip": ip.strip(), "at": at.isoformat(), "port": port,
                   "holders": [{**h.as_json(), "location": codes.get(h.location_id)} for h in holders]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not holders:
        click.echo(f"Nobody had {ip.strip()} at {at.isoformat()}.")
        return
    for h in holders:
        until = h.valid_to.isoformat() if h.valid_to else "now"
        nat = f"  via CGNAT {h.nat.public}:{h.nat.first_port}-{h.nat.last_port} (inside {h.nat.inside})" if h.nat else ""
        click.echo(f"{codes.get(h.location_id)}\tcustomer {h.customer_number} {h.customer_name}\tservice #{h.service_id}"
                   f"\t{h.assigned}\t{h.valid_from.isoformat()} – {until}{nat}")


def _location_codes(session, ids: set[int]) -> dict[int, str]:  # noqa: ANN001
    from sqlalchemy import select

    from mango_core.tenancy.models import Location

    if not ids:
        return {}
    return dict(session.execute(select(Location.id, Location.code).where(Location.id.in_(sorted(ids)))).all())


@isp.group("stock")
def stock_group() -> None:
    """Stock: warehouses, end devices and spare parts."""


@stock_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--location", "location_code", required=True, help="Code of the location.")
@click.option("--warehouse", "warehouse_code", required=True, help="Code of the warehouse receiving the goods.")
@click.option("--reference", default=None, help="The delivery note's number (default: the file name).")
@with_appcontext
def import_stock(file: Path, location_code: str, warehouse_code: str, reference: str | None) -> None:
    """Receive the pieces listed in a CSV FILE (article, serial_number, mac, quantity, configured_by_mango, note)."""
    from mango_isp.stock import service as stock
    from mango_isp.stock.importer import import_received

    mango = current_app.extensions["mango"]
    location_id, code = _location(mango, location_code)
    from mango_core.tenancy.context import location_scope

    with location_scope(location_id), mango.db.session() as session:
        warehouse = stock.find_warehouse(session, warehouse_code)
        if warehouse is None:
            raise click.BadParameter(f"no warehouse {warehouse_code!r} in {code}", param_hint="--warehouse")
        try:
            result = import_received(session, file.read_bytes(), warehouse=warehouse,
                                     reference=reference or file.name)
        except InvalidValue as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
        session.commit()
    if result.already_imported:
        click.echo(f"Delivery {result.reference} was imported into {warehouse_code.upper()} before; nothing changed.")
        return
    click.echo(f"Received into {warehouse.code}: {result.items} pieces with serial numbers, "
               f"{result.pieces} counted pieces (delivery {result.reference}).")


def _add_backup() -> None:
    from mango_isp.backup.cli import backup

    isp.add_command(backup)


_add_backup()
