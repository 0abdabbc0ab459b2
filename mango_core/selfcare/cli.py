"""``mango selfcare …``: portal access from the command line (bulk invitations from a script)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.mail.service import MailInputError
from mango_core.selfcare import accounts, mail
from mango_core.tenancy.context import location_scope, operator_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import InvalidValue


@click.group("selfcare")
def selfcare() -> None:
    """The customer portal: invitations."""


@selfcare.command("invite")
@click.option("--location", "location_code", required=True, metavar="CODE", help="The customer's location.")
@click.option("--customer", "number", required=True, type=int, metavar="NUMBER", help="The customer number.")
@click.option("--email", default=None, help="Where to send it (default: the account's, else the customer's contact).")
@click.option("--base-url", default=None, help="The portal's public address (default: [selfcare] base_url).")
@with_appcontext
def invite(location_code: str, number: int, email: str | None, base_url: str | None) -> None:
    """E-mail customer NUMBER a one-time link to set a portal password (queued in the outbox)."""
    mango = current_app.extensions["mango"]
    cfg = mango.settings.section("selfcare")
    lifetime = timedelta(hours=float(cfg["invitation_hours"]))
    with operator_scope(), mango.db.session() as session:
        location = session.scalar(select(Location).where(Location.code == location_code.strip().upper()))
    if location is None:
        raise click.BadParameter(f"no location with code {location_code!r}", param_hint="--location")
    with mango.db.session() as session, location_scope(location.id):
        customer = session.scalar(select(Customer).where(Customer.number == number))
        if customer is None:
            raise click.BadParameter(f"no customer number {number} in {location.code}", param_hint="--customer")
        try:
            base = mail.base_url(base_url or cfg.get("base_url"))
            account, token = accounts.invite(session, customer, email=email, lifetime=lifetime)
            message = mail.send_invitation(session, account, token, location=location, base=base,
                                           valid_until=utcnow() + lifetime)
        except (InvalidValue, MailInputError) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(f"Invitation for customer {customer.number} ({customer.display_name}) queued to {account.email} "
                   f"(outbox message {message.id}); the link works until "
                   f"{(utcnow() + lifetime):%Y-%m-%d %H:%M} UTC.")
