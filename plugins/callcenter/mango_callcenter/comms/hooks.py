"""Hooks of the call centre comms (listed in `PLUGIN.parts`): permissions, settings, the jobs
``callcenter:fetch_mail`` and ``callcenter:send_sms``, Opcare pages and menu, the customer card's
communication tab, and ``mango callcenter mail-in`` (an MTA pipes a message to it)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.customers.card import CardPart
    from mango_core.customers.models import Customer


def _fetch_job(ctx: JobContext) -> str:
    from mango_callcenter.comms.mailboxes import fetch_all

    return str(fetch_all(ctx.session, ctx.settings))


def _sms_job(ctx: JobContext) -> str:
    from mango_callcenter.comms.gateways import driver_for
    from mango_callcenter.comms.sms import send_due

    return str(send_due(ctx.session, driver_for(ctx.session, ctx.settings),
                        max_attempts=int(ctx.settings["sms_max_attempts"])))


FETCH_JOB = Job(id="callcenter:fetch_mail", label=_l("Read incoming e-mail into tickets"), func=_fetch_job,
                trigger={"trigger": "interval", "minutes": 2}, plugin="callcenter")
SMS_JOB = Job(id="callcenter:send_sms", label=_l("Send queued SMS"), func=_sms_job,
              trigger={"trigger": "interval", "minutes": 1}, plugin="callcenter")


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("callcenter.comms.view", _l("View the communication log and the SMS queue")),
            Permission("callcenter.comms.manage", _l("Manage message templates, mail sources and SMS")),
            Permission("callcenter.comms.send", _l("Write e-mails and SMS to customers from the customer card"))]


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {
        "secret_keys": [],  # Fernet keys for mailbox passwords (the first encrypts)
        "imap_ca_file": "",  # a private CA for IMAP servers' certificates
        "sms_driver": "log",  # "log" (writes the log, the demo) or "http"
        "sms_http": {},  # the HTTP gateway: url, method, username/password or token, body, success_status…
        "sms_max_attempts": 5,
    }


@hookimpl
def mango_jobs() -> list[Job]:
    return [FETCH_JOB, SMS_JOB]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_callcenter.comms.views import bp, report_bp

    return [bp, report_bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Communication"), "callcenter_comms.log_list", "callcenter.comms.view", section="support",
                     order=20, icon="chat-left-text"),
            MenuItem(_l("Message templates"), "callcenter_comms.template_edit", "callcenter.comms.manage",
                     section="support", order=91, icon="file-earmark-text"),
            MenuItem(_l("Mail sources"), "callcenter_comms.sources", "callcenter.comms.manage", section="support",
                     order=92, icon="inbox"),
            MenuItem(_l("SMS gateway"), "callcenter_comms.gateway_settings", "callcenter.comms.manage",
                     section="support", order=93, icon="phone")]


@hookimpl
def mango_customer_card(customer: Customer) -> list[CardPart]:  # noqa: ARG001
    from mango_callcenter.comms.views import render_customer_log
    from mango_core.customers.card import TAB, CardPart

    return [CardPart("callcenter_comms", _l("Communication"), render_customer_log, kind=TAB, order=55,
                     permission="callcenter.comms.view", icon="chat-left-text")]


@hookimpl
def mango_customer_changed(customer: Customer, changes: dict[str, tuple[Any, Any]]) -> None:
    """An anonymised customer's communication log and SMS lose their personal content in the same transaction."""
    if "anonymised_at" not in changes:
        return
    from sqlalchemy.orm import object_session

    from mango_callcenter.comms.log import erase_customer

    erase_customer(object_session(customer), customer.id)


@click.group("callcenter")
def callcenter() -> None:
    """The call centre."""


@click.command("mail-in")
@click.option("--location", "code", required=True, help="The location's code (e.g. PRG).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Read the message from a file instead of standard input.")
@with_appcontext
def mail_in(code: str, path: str | None) -> None:
    """File one e-mail (RFC 5322, on standard input) into the location's helpdesk.

    For an MTA's pipe transport, e.g. Postfix: ``podpora: "|/opt/mango/bin/mango callcenter mail-in
    --location PRG"``. Exit status 0 also for a duplicate or an ignored auto-reply (never bounce those).
    """
    from flask import current_app
    from sqlalchemy import select

    from mango_callcenter.comms.mailin import ingest
    from mango_core.tenancy import location_scope, operator_scope
    from mango_core.tenancy.models import Location

    raw = open(path, "rb").read() if path else sys.stdin.buffer.read()  # noqa: SIM115
    mango = current_app.extensions["mango"]
    with mango.db.session() as session:
        with operator_scope():
            location = session.scalar(select(Location).where(Location.code == code))
        if location is None:
            raise click.ClickException(f"no location {code!r}")
        if not mango.is_active("callcenter", location.id):
            raise click.ClickException(f"the call centre is not enabled in {code}")
        with location_scope(location.id):
            result = ingest(session, raw, limits=mango.plugin_settings("callcenter"))
            session.commit()
            click.echo(f"{result.inbound.outcome}{'' if result.new else ' (seen before)'}"
                       f"{f' ticket {result.inbound.ticket.number}' if result.inbound.ticket else ''}")


@hookimpl
def mango_cli(cli: click.Group) -> None:
    # another part of the plugin may have added the ``callcenter`` group already: join it
    group = cli.commands.get("callcenter")
    if not isinstance(group, click.Group):
        group = callcenter
        cli.add_command(group)
    group.add_command(mail_in)
