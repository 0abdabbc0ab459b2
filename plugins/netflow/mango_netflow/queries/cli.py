"""``mango netflow who`` and ``mango netflow flows``: the data-retention queries on the command line.

Both need ``--reference`` (the authority's case number) and are written to the audit log with
the operator's name (``--operator``, default the OS user). Without ``--location`` a query runs in
every location where the NetFlow module is enabled, and each location logs it. A time without a
zone is local time of ``default_timezone``; ``Z`` or an offset is taken as written.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from mango_core.tenancy.validators import InvalidValue

PLUGIN = "netflow"


def _locations(mango, code: str | None) -> list[tuple[int, str]]:  # noqa: ANN001
    """(id, code) of the locations to query: the one named, or every one with NetFlow enabled."""
    from sqlalchemy import select

    from mango_core.tenancy.context import operator_scope
    from mango_core.tenancy.models import Location

    with operator_scope(), mango.db.session() as session:
        rows = session.execute(select(Location.id, Location.code).order_by(Location.code)).all()
    if code:
        wanted = code.strip().upper()
        found = [(i, c) for i, c in rows if c == wanted]
        if not found:
            raise click.BadParameter(f"no location with code {code!r}", param_hint="--location")
        if not mango.is_active(PLUGIN, found[0][0]):
            raise click.ClickException(f"the netflow module is not enabled in {wanted}")
        return found
    return [(i, c) for i, c in rows if mango.is_active(PLUGIN, i)]


def _asker(operator: str | None):  # noqa: ANN202
    from mango_netflow.queries.service import Asker

    name = (operator or "").strip() or getpass.getuser()
    return Asker("cli", f"{name} (cli)")


def _zone(mango) -> ZoneInfo:  # noqa: ANN001
    return ZoneInfo(mango.settings["default_timezone"])


@click.command("who")
@click.option("--ip", required=True, help="The address asked about.")
@click.option("--at", "at_text", required=True, help="The moment, e.g. 2025-03-01T14:30:05Z.")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="The port (CGNAT: the public port).")
@click.option("--reference", required=True, help="The reference of the request (the authority's case number).")
@click.option("--location", "location_code", default=None, help="Code of the location (default: every one).")
@click.option("--operator", default=None, help="Who asks (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Answer in JSON.")
@with_appcontext
def who(ip: str, at_text: str, port: int | None, reference: str, location_code: str | None,
        operator: str | None, as_json: bool) -> None:
    """Who used address IP (and PORT) at a time: the customer and service, confirmed by flows."""
    from mango_core.tenancy.context import location_scope
    from mango_isp.times import parse_moment
    from mango_netflow.queries import service as queries

    mango = current_app.extensions["mango"]
    asker = _asker(operator)
    answers = []
    try:
        at = parse_moment(at_text, _zone(mango), "at")
        for location_id, code in _locations(mango, location_code):
            with location_scope(location_id), mango.db.session() as session:
                answer, log = queries.ask_who(session, asker, reference, ip, at, port)
                session.commit()
                answers.append((code, answer, log.id))
    except InvalidValue as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        payload = {"ip": ip.strip(), "port": port, "at": at.isoformat(), "reference": reference.strip(),
                   "holders": [{**h, "location": code} for code, a, _ in answers for h in a.as_json()["holders"]],
                   "log_ids": {code: log_id for code, _, log_id in answers}}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    holders = [(code, c) for code, a, _ in answers for c in a.holders]
    if not holders:
        click.echo(f"Nobody used {ip.strip()} at {at.isoformat()}.")
    for code, c in holders:
        h = c.holder
        until = h.valid_to.isoformat() if h.valid_to else "now"
        nat = f"  via CGNAT {h.nat.public}:{h.nat.first_port}-{h.nat.last_port} (inside {h.nat.inside})" if h.nat else ""
        seen = f"confirmed by {c.flows}{'+' if c.capped else ''} flows" if c.flows else "no flows seen"
        click.echo(f"{code}\tcustomer {h.customer_number} {h.customer_name}\tservice #{h.service_id}\t{h.assigned}"
                   f"\t{h.valid_from.isoformat()} – {until}{nat}\t{seen}")
    click.echo(f"Logged: {', '.join(f'{code} #{log_id}' for code, _, log_id in answers)}", err=True)


@click.command("flows")
@click.option("--ip", default=None, help="The address whose flows are wanted.")
@click.option("--customer", "customer_number", type=int, default=None, help="The customer's number (needs --location "
                                                                          "when several locations have NetFlow).")
@click.option("--from", "start_text", required=True, help="The start of the interval.")
@click.option("--to", "end_text", required=True, help="The end of the interval.")
@click.option("--port", type=click.IntRange(0, 65535), default=None)
@click.option("--protocol", default=None, help="tcp, udp, icmp… or a number.")
@click.option("--peer", default=None, help="Only flows with this other address.")
@click.option("--limit", type=int, default=None, help="At most this many flows (default 10000).")
@click.option("--reference", required=True, help="The reference of the request (the authority's case number).")
@click.option("--location", "location_code", default=None, help="Code of the location (default: every one).")
@click.option("--operator", default=None, help="Who asks (default: the OS user).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the CSV for the authority to this file ('-': standard output).")
@with_appcontext
def flows(ip: str | None, customer_number: int | None, start_text: str, end_text: str, port: int | None,
          protocol: str | None, peer: str | None, limit: int | None, reference: str, location_code: str | None,
          operator: str | None, csv_file: Path | None) -> None:
    """The flows of an address or of a customer's addresses in an interval."""
    import numpy as np

    from mango_core.tenancy.context import location_scope
    from mango_isp.times import parse_moment
    from mango_netflow.flows import STORED_DTYPE
    from mango_netflow.queries import export
    from mango_netflow.queries import service as queries

    mango = current_app.extensions["mango"]
    asker = _asker(operator)
    locations = _locations(mango, location_code)
    if customer_number is not None and len(locations) > 1:
        raise click.UsageError("--customer needs --location: customer numbers belong to a location")
    found, logged = [], []
    names: dict[int, str] = {}
    try:
        zone = _zone(mango)
        query = queries.flow_query(start=parse_moment(start_text, zone, "start"), end=parse_moment(end_text, zone, "end"),
                                   ip=ip, customer_number=customer_number, port=port, protocol=protocol, peer=peer,
                                   limit=limit)
        for location_id, code in locations:
            with location_scope(location_id), mango.db.session() as session:
                result, log = queries.ask_flows(session, asker, reference, query)
                session.commit()
                found.append(result.flows)
                names.update(export.exporter_names(session))
                logged.append(f"{code} #{log.id}")
    except InvalidValue as exc:
        raise click.ClickException(str(exc)) from exc
    every = np.concatenate(found) if found else np.zeros(0, dtype=STORED_DTYPE)
    every = every[np.argsort(every["first"], kind="stable")]
    data = export.flows_csv(every, names)
    if csv_file is None or str(csv_file) == "-":
        click.echo(data.decode("utf-8"), nl=False)
    else:
        csv_file.write_bytes(data)
    click.echo(f"{len(every)} flows. Logged: {', '.join(logged)}", err=True)


COMMANDS: list[click.Command] = [who, flows]
