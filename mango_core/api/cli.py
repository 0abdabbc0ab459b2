"""``mango api token create|list|revoke``: personal API tokens from the command line (operator tools).

Each command checks its input before it changes anything and runs in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.api import tokens
from mango_core.api.access import USE
from mango_core.api.models import ApiToken
from mango_core.auth import service as auth_service
from mango_core.auth.access import allowed_location_ids, permissions_in
from mango_core.auth.models import User
from mango_core.tenancy.context import operator_scope
from mango_core.tenancy.models import Location


@click.group("api")
def api() -> None:
    """The REST API (/api/v1)."""


@api.group("token")
def token() -> None:
    """Personal API tokens of staff users: create, list, revoke."""


@contextmanager
def _transaction() -> Iterator[Session]:
    mango = current_app.extensions["mango"]
    with mango.db.session() as session, operator_scope():
        try:
            yield session
        except tokens.TokenError as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
        except BaseException:
            session.rollback()
            raise
        session.commit()


def _user(session: Session, email: str) -> User:
    found = auth_service.find_user(session, email)
    if found is None:
        raise click.ClickException(f"No user with e-mail {auth_service.normalize_email(email)}.")
    return found


def _codes(session: Session, ids: list[int]) -> list[str]:
    if not ids:
        return []
    return list(session.scalars(select(Location.code).where(Location.id.in_(ids)).order_by(Location.code)))


def _usable(session: Session, user: User, location_id: int | None) -> list[int]:
    """Locations where a token of ``user`` (narrowed to ``location_id``) would work today."""
    declared = set(current_app.extensions["mango"].permissions)
    return [loc for loc in allowed_location_ids(session, user)
            if (location_id is None or loc == location_id) and USE in permissions_in(session, user, loc, declared)]


@token.command("create")
@click.option("--user", "email", required=True, metavar="EMAIL", help="The staff user the token acts as.")
@click.option("--location", "location_code", metavar="CODE", help="Narrow the token to this location.")
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
@click.option("--expires", "days", type=int, metavar="DAYS", help="Expire after DAYS days (default: never).")
@with_appcontext
def create(email: str, location_code: str | None, name: str, days: int | None) -> None:
    """Create a token for a user; it is printed once (store it now: only its hash is kept)."""
    with _transaction() as session:
        user = _user(session, email)
        location_id = None
        if location_code:
            location = session.scalar(select(Location).where(Location.code == location_code.strip().upper()))
            if location is None:
                raise click.ClickException(f"No location with code {location_code.strip().upper()}.")
            if location.id not in allowed_location_ids(session, user):
                raise click.ClickException(f"{user.email} does not work in location {location.code}.")
            location_id = location.id
        usable = _usable(session, user, location_id)
        if not usable:
            where = f"location {location_code.upper()}" if location_code else "any of their locations"
            raise click.ClickException(f"{user.email} does not hold {USE} in {where}; the token would not work. "
                                       "Give the user a role with that permission first.")
        created = tokens.create_token(session, user, name=name, location_id=location_id, expires_in_days=days)
        click.echo(f"Token #{created.token.id} for {user.email} ({created.token.name}), "
                   f"works in: {', '.join(_codes(session, usable))}"
                   + (f", expires {created.token.expires_at:%Y-%m-%d %H:%M} UTC" if created.token.expires_at else ""))
        click.echo("Store it now; it is not shown again:")
        click.echo(created.secret)


@token.command("list")
@click.option("--user", "email", metavar="EMAIL", help="Only this user's tokens.")
@click.option("--all", "show_all", is_flag=True, help="Include revoked and expired tokens.")
@with_appcontext
def list_(email: str | None, show_all: bool) -> None:
    """List tokens (never the secrets): id, prefix, user, name, location, state, last use."""
    with _transaction() as session:
        query = select(ApiToken).join(User, User.id == ApiToken.user_id).order_by(User.email, ApiToken.id)
        if email:
            query = query.where(ApiToken.user_id == _user(session, email).id)
        found = [t for t in session.scalars(query) if show_all or t.state() == "active"]
        if not found:
            click.echo("No tokens.")
            return
        codes = dict(session.execute(select(Location.id, Location.code)).all())
        for t in found:
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            click.echo(f"#{t.id}  {t.prefix}…  {t.user.email}  {t.name!r}  "
                       f"{codes.get(t.location_id, 'all locations')}  {t.state()}  last used {used}")


@token.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID (see `mango api token list`) for good."""
    with _transaction() as session:
        found = tokens.get_token(session, token_id)
        if found is None:
            raise click.ClickException(f"No token #{token_id}.")
        if tokens.revoke(session, found):
            click.echo(f"Token #{found.id} ({found.prefix}…) of {found.user.email} revoked.")
        else:
            click.echo(f"Token #{found.id} was revoked already.")
