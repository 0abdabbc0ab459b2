"""Hooks of the call centre calls (listed in `PLUGIN.parts`): permissions, pages and menu, the
customer card's call log, the operator's pop-up script, and the ``mango callcenter ami`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.customers.card import CardPart
    from mango_core.customers.models import Customer


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("callcenter.calls.view", _l("See incoming calls (pop-up) and the call log")),
            Permission("callcenter.calls.manage", _l("Manage the PBX connection and click-to-call"))]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_callcenter.calls.views import bp, webhook_bp

    return [bp, webhook_bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Calls"), "callcenter_calls.log", "callcenter.calls.view", section="support", order=40,
                     icon="telephone"),
            MenuItem(_l("Telephony settings"), "callcenter_calls.settings", "callcenter.calls.manage",
                     section="support", order=91, icon="telephone-plus")]


@hookimpl
def mango_customer_card(customer: Customer) -> list[CardPart]:  # noqa: ARG001
    from mango_callcenter.calls.views import render_customer_calls
    from mango_core.customers.card import TAB, CardPart

    return [CardPart("callcenter_calls", _l("Calls"), render_customer_calls, kind=TAB, order=55,
                     permission="callcenter.calls.view", icon="telephone")]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:  # noqa: ARG001
    """``opcare_scripts``: the incoming-call pop-up."""
    if slot == "opcare_scripts":
        from mango_callcenter.calls.views import render_popup_script

        return render_popup_script() or None
    return None


@hookimpl
def mango_cli(cli: click.Group) -> None:
    group = cli.commands.get("callcenter")
    if group is None:
        group = click.Group("callcenter", help="Call centre tools.")
        cli.add_command(group)
    group.add_command(ami_command)


@click.command("ami")
@click.option("--location", "location_code", required=True, metavar="CODE", help="Location code, e.g. PRG.")
@click.option("--host", required=True, help="The Asterisk server.")
@click.option("--port", default=5038, show_default=True, type=int)
@click.option("--user", "username", required=True, help="AMI user (manager.conf).")
@with_appcontext
def ami_command(location_code: str, host: str, port: int, username: str) -> None:
    """Listen to an Asterisk server's calls and store them as the webhook does (secret: MANGO_AMI_SECRET)."""
    import asyncio
    import os

    from flask import current_app
    from sqlalchemy import select

    from mango_callcenter.calls.ami import AmiClient, store_call
    from mango_core.tenancy.models import Location

    app = current_app._get_current_object()  # noqa: SLF001 - the app outlives the CLI's context
    with app.extensions["mango"].db.session() as session:
        location_id = session.scalar(select(Location.id).where(Location.code == location_code))
    if location_id is None:
        raise click.BadParameter(f"no location {location_code!r}", param_hint="--location")
    client = AmiClient(host, port, username, os.environ.get("MANGO_AMI_SECRET", ""), store_call(app, location_id))
    click.echo(f"Listening to AMI {host}:{port} for {location_code} (Ctrl+C stops).")
    try:
        asyncio.run(client.run(asyncio.Event()))
    except KeyboardInterrupt:
        click.echo("Stopped.")
