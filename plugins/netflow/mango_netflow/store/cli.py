"""``mango netflow`` commands of the store: ``retention [--dry-run]``."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def retention(dry_run: bool, as_json: bool) -> None:
    """Remove flows older than each location's retention (what the daily job netflow:retention does)."""
    from sqlalchemy import select

    from mango_core.tenancy.context import location_scope, operator_scope
    from mango_core.tenancy.models import Location
    from mango_netflow.store.retention import run_retention

    mango = current_app.extensions["mango"]
    with operator_scope(), mango.db.session() as session:
        locations = session.execute(select(Location.id, Location.code).order_by(Location.code)).all()
    report = []
    for location_id, code in locations:
        if not mango.is_active("netflow", location_id):
            continue
        with location_scope(location_id), mango.db.session() as session:
            result = run_retention(session, location_id, dry_run=dry_run)
            if dry_run:
                session.rollback()
            else:
                session.commit()
        report.append({"location": code, "cutoff": result.cutoff.isoformat(), "deleted_blocks": result.deleted_blocks,
                       "deleted_flows": result.deleted_flows, "dropped_partitions": result.dropped_partitions})
        if not as_json:
            click.echo(f"{code}: {'would remove' if dry_run else 'removed'} {result.summary()}")
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "locations": report}, indent=2))


COMMANDS: list[click.Command] = [retention]
