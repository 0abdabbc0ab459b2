"""``mango netflow accounting``: run the accounting now, or account an interval again (late flows).

Without ``--from``/``--to`` it does what the job ``netflow:accounting`` does (hours after the
watermark); with them it rewrites the hours of that interval and leaves the watermark.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from mango_core.tenancy.validators import InvalidValue


@click.command("accounting")
@click.option("--location", "location_code", default=None, help="Code of the location (default: every one).")
@click.option("--from", "start_text", default=None, help="Account again from this time.")
@click.option("--to", "end_text", default=None, help="… up to this time.")
@with_appcontext
def accounting(location_code: str | None, start_text: str | None, end_text: str | None) -> None:
    """Account traffic of services per hour from the stored flows."""
    from mango_core.tenancy.context import location_scope
    from mango_isp.times import parse_moment
    from mango_netflow.accounting import service
    from mango_netflow.queries.cli import _locations

    mango = current_app.extensions["mango"]
    if (start_text is None) != (end_text is None):
        raise click.UsageError("give both --from and --to, or neither")
    zone = ZoneInfo(mango.settings["default_timezone"])
    try:
        span = (parse_moment(start_text, zone, "from"), parse_moment(end_text, zone, "to")) if start_text else None
    except InvalidValue as exc:
        raise click.ClickException(str(exc)) from exc
    settings = mango.plugin_settings("netflow")
    for location_id, code in _locations(mango, location_code):
        with location_scope(location_id), mango.db.session() as session:
            if span:
                text = f"{service.rebuild(session, location_id, *span)} hours accounted again"
            else:
                text = str(service.run(session, location_id, settings=settings))
            session.commit()
        click.echo(f"{code}: {text}")


COMMANDS: list[click.Command] = [accounting]
