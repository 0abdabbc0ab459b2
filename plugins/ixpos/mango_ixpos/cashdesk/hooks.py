"""Hooks of the cashdesk area (listed in `PLUGIN.parts`): permissions, settings, the ``ixpos:reconcile``
job, Opcare pages and menu items, the ``mango ixpos`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext

if TYPE_CHECKING:
    from flask import Blueprint

USE, MANAGE = "ixpos.cashdesk.use", "ixpos.cashdesk.manage"


def _reconcile_job(ctx: JobContext) -> str:
    from mango_ixpos.cashdesk.service import reconcile_all
    from mango_ixpos.cashdesk.terminals import driver_for

    counts = reconcile_all(ctx.session, lambda register: driver_for(register, ctx.settings))
    return ", ".join(f"{state} {n}" for state, n in counts.items())


RECONCILE_JOB = Job(id="ixpos:reconcile", label=_l("Reconcile card payments with an unknown result"),
                    func=_reconcile_job, trigger={"trigger": "interval", "minutes": 5}, plugin="ixpos")


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission(USE, _l("Take payments at the cash desk, open and close cash sessions")),
            Permission(MANAGE, _l("Manage cash registers, see the cash-desk journal and closing reports"))]


@hookimpl
def mango_settings() -> dict[str, Any]:
    from mango_ixpos.cashdesk.terminals import DEFAULTS

    return dict(DEFAULTS)


@hookimpl
def mango_jobs() -> list[Job]:
    return [RECONCILE_JOB]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_ixpos.cashdesk.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Cash desk"), "ixpos_cashdesk.index", USE, section="billing", order=70, icon="cash-coin"),
            MenuItem(_l("Cash sessions"), "ixpos_cashdesk.session_list", USE, section="billing", order=71,
                     icon="clock-history"),
            MenuItem(_l("Closing report"), "ixpos_cashdesk.report", MANAGE, section="billing", order=72,
                     icon="receipt"),
            MenuItem(_l("Cash-desk journal"), "ixpos_cashdesk.journal", MANAGE, section="billing", order=73,
                     icon="journal-text")]


@click.group("ixpos")
def ixpos() -> None:
    """iXpos: the cash desk and its card terminals."""


@ixpos.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9100, show_default=True, help="0: any free port")
@click.option("--fault", type=click.Choice(["timeout-after-approval", "disconnect-mid-transaction",
                                            "disconnect-before-approval", "decline", "duplicate-response"]))
@click.option("--fault-times", type=int, default=1, show_default=True)
@click.option("--delay", type=float, default=0.0, show_default=True)
def simulator_command(host: str, port: int, fault: str | None, fault_times: int, delay: float) -> None:
    """Run a card-terminal simulator (ECR protocol over TCP) for tests and the demo."""
    from mango_ixpos.simulator import serve

    serve(host, port, fault, fault_times, delay)


@hookimpl
def mango_cli(cli: click.Group) -> None:
    cli.add_command(ixpos)


DEMO_REGISTER = "Pokladna 1"


@hookimpl
def mango_demo(session, mango, locations) -> None:  # noqa: ANN001, ARG001
    """A register per demo location whose terminal is the simulator's default port (``mango ixpos simulator``)."""
    from sqlalchemy import select

    from mango_core.tenancy import location_scope
    from mango_ixpos.cashdesk import service
    from mango_ixpos.cashdesk.models import CashRegister

    made = 0
    for location in locations:
        with location_scope(location.id):
            if session.scalar(select(CashRegister.id).where(CashRegister.name == DEMO_REGISTER)) is None:
                service.create_register(session, name=DEMO_REGISTER, terminal_host="127.0.0.1", terminal_port=9100)
                made += 1
            session.commit()
    click.echo(f"iXpos demo: {made} cash registers (terminal: mango ixpos simulator --port 9100)")
