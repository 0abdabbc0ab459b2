"""``mango user …``: staff accounts from the command line (first operator, lost passwords).

Every command checks its input before it changes anything and runs in one transaction:
on an error nothing is stored and the message says what to fix.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.auth import service
from mango_core.auth.errors import AuthInputError
from mango_core.auth.models import Role, RoleAssignment, User
from mango_core.auth.passwords import check_strength
from mango_core.tenancy.context import operator_scope
from mango_core.tenancy.models import Location, Partner


@click.group("user")
def user() -> None:
    """Staff users: create, set a password, disable, enable."""


@contextmanager
def _transaction() -> Iterator[Session]:
    """One session in the operator's scope; committed on success, rolled back on any error."""
    mango = current_app.extensions["mango"]
    with mango.db.session() as session, operator_scope():
        try:
            yield session
        except AuthInputError as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
        except BaseException:
            session.rollback()
            raise
        session.commit()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_strength(password)
    except AuthInputError as exc:
        raise click.ClickException(str(exc)) from exc
    return password


def _existing_user(session: Session, email: str) -> User:
    found = service.find_user(session, email)
    if found is None:
        raise click.ClickException(f"No user with e-mail {service.normalize_email(email)}.")
    return found


@user.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown in Opcare.")
@click.option("--operator", is_flag=True, help="A user of the operator (holds every permission).")
@click.option("--partner", "partner_code", metavar="CODE", help="Code of the partner the user works for.")
@click.option("--role", "role_name", metavar="NAME", help="A role of the partner to assign (with --location).")
@click.option("--location", "location_code", metavar="CODE", help="Location of the partner for --role.")
@click.option("--locale", type=click.Choice(["cs", "en"]), help="UI language (default: Czech).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def create(email: str, name: str, operator: bool, partner_code: str | None, role_name: str | None,
           location_code: str | None, locale: str | None, password_stdin: bool) -> None:
    """Create a staff user EMAIL (operator staff, or staff of --partner)."""
    if operator == bool(partner_code):
        raise click.UsageError("Give exactly one of --operator and --partner CODE.")
    if bool(role_name) != bool(location_code):
        raise click.UsageError("--role and --location go together.")
    if operator and role_name:
        raise click.UsageError("Operator users hold every permission; they get no --role.")
    password = _read_password(password_stdin)
    with _transaction() as session:
        partner = None
        if partner_code:
            partner = session.scalar(select(Partner).where(Partner.code == partner_code.upper()))
            if partner is None:
                raise click.ClickException(f"No partner with code {partner_code}.")
        new_user = service.create_user(
            session, email=email, name=name, password=password, is_operator=operator,
            partner_id=partner.id if partner else None, locale=locale,
        )
        message = f"Created {'operator' if operator else partner.code} user {new_user.email}."
        if role_name:
            location = session.scalar(select(Location).where(
                Location.code == location_code.upper(), Location.partner_id == partner.id
            ))
            if location is None:
                raise click.ClickException(f"Partner {partner.code} has no location {location_code}.")
            role = session.scalar(select(Role).where(Role.partner_id == partner.id, Role.name == role_name))
            if role is None:
                names = ", ".join(session.scalars(
                    select(Role.name).where(Role.partner_id == partner.id).order_by(Role.name)
                )) or "none yet"
                raise click.ClickException(f"Partner {partner.code} has no role {role_name!r} (roles: {names}).")
            session.add(RoleAssignment(user_id=new_user.id, role_id=role.id, location_id=location.id))
            message += f" Role {role.name} in {location.code}."
    click.echo(message)


@user.command("passwd")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def passwd(email: str, password_stdin: bool) -> None:
    """Set the password of EMAIL; the user's sessions end."""
    with _transaction() as session:
        found = _existing_user(session, email)
        password = _read_password(password_stdin)
        ended = service.set_password(session, found, password)
    click.echo(f"Password of {found.email} changed; {ended} session(s) ended.")


@user.command("disable")
@click.argument("email")
@with_appcontext
def disable(email: str) -> None:
    """Disable EMAIL: the user cannot log in and every session of the user ends now."""
    with _transaction() as session:
        found = _existing_user(session, email)
        if not found.is_active:
            raise click.ClickException(f"{found.email} is already disabled.")
        ended = service.disable_user(session, found)
    click.echo(f"Disabled {found.email}; {ended} session(s) ended.")


@user.command("enable")
@click.argument("email")
@with_appcontext
def enable(email: str) -> None:
    """Enable a disabled user EMAIL again."""
    with _transaction() as session:
        found = _existing_user(session, email)
        if found.is_active:
            raise click.ClickException(f"{found.email} is already active.")
        service.enable_user(session, found)
    click.echo(f"Enabled {found.email}.")
