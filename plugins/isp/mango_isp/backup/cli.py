"""``mango isp backup DEVICE --location CODE``: back up one device's configuration now."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("backup")
@click.argument("device")
@click.option("--location", "location", required=True, help="Code of the device's location.")
@with_appcontext
def backup(device: str, location: str) -> None:
    """Back up DEVICE (its id or exact name); a new version only when the configuration changed."""
    from sqlalchemy import select

    from mango_core.devices.models import Device
    from mango_core.tenancy.context import location_scope
    from mango_isp.backup import service
    from mango_isp.cli import _location

    mango = current_app.extensions["mango"]
    location_id, code = _location(mango, location)
    with location_scope(location_id), mango.db.session() as session:
        query = select(Device.id).where(Device.name == device)
        if device.isdigit():
            query = select(Device.id).where((Device.id == int(device)) | (Device.name == device))
        found = list(session.scalars(query.limit(2)))
        if len(found) != 1:
            raise click.ClickException(f"no single device {device!r} in {code}" if found else
                                       f"no device {device!r} in {code}")
        try:
            stored = service.backup_device(session, found[0])
        except service.BackupError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo("unchanged" if stored is None else f"stored version {stored.version}")
