"""``mango partner …``, ``mango location …`` and ``mango plugins …`` (operator tools)."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from mango_core.plugins import CORE, ENTRY_POINT_GROUP, NAME_RE
from mango_core.tenancy import operator_scope, service
from mango_core.tenancy.models import Location, LocationModule, Partner
from mango_core.tenancy.validators import InvalidValue


def _mango():  # noqa: ANN202
    return current_app.extensions["mango"]


def _fail(exc: Exception) -> click.ClickException:
    field = getattr(exc, "field", None)
    return click.ClickException(f"{field}: {exc}" if field else str(exc))


class _DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        if isinstance(value, date):
            return value
        text = str(value).strip()
        for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                from datetime import datetime

                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        self.fail(f"{value!r} is not a date (use YYYY-MM-DD or DD.MM.YYYY)", param, ctx)


DATE = _DateType()


# --- partner -----------------------------------------------------------------------------------


@click.group("partner")
def partner() -> None:
    """Partners (licensees) and their module licences."""


@partner.command("create")
@click.argument("code")
@click.option("--name", required=True, help="Short name shown in Opcare.")
@click.option("--company", required=True, help="Registered company name.")
@click.option("--ico", default="", help="IČO (8 digits).")
@click.option("--dic", default="", help="DIČ, e.g. CZ12345678.")
@click.option("--email", default="")
@click.option("--phone", default="")
@with_appcontext
def partner_create(code: str, name: str, company: str, ico: str, dic: str, email: str, phone: str) -> None:
    """Create partner CODE."""
    with operator_scope(), _mango().db.session() as session:
        try:
            obj = service.create_partner(session, code=code, name=name, company_name=company, ico=ico, dic=dic,
                                         email=email, phone=phone)
        except InvalidValue as exc:
            raise _fail(exc) from exc
        session.commit()
        click.secho(f"Partner {obj.code} ({obj.company_name}) created.", fg="green")


@partner.command("licence")
@click.argument("code")
@click.argument("module")
@click.option("--from", "valid_from", type=DATE, default=None, help="First day (default today).")
@click.option("--until", "valid_until", type=DATE, default=None, help="Last day (default: no end).")
@click.option("--note", default="")
@with_appcontext
def partner_licence(code: str, module: str, valid_from: date | None, valid_until: date | None, note: str) -> None:
    """Grant partner CODE a licence for MODULE."""
    mango = _mango()
    with operator_scope(), mango.db.session() as session:
        try:
            obj = service.get_partner(session, code)
            licence = service.add_licence(session, obj, module, valid_from=valid_from, valid_until=valid_until,
                                          note=note)
        except InvalidValue as exc:
            raise _fail(exc) from exc
        session.commit()
        until = licence.valid_until.isoformat() if licence.valid_until else "no end"
        click.secho(f"Licence for {licence.module}: {obj.code}, {licence.valid_from.isoformat()} – {until}.",
                    fg="green")
        if licence.module not in mango.plugins.plugins:
            click.echo(f"Note: plugin {licence.module!r} is not loaded in this installation.")


@partner.command("list")
@with_appcontext
def partner_list() -> None:
    """List partners with their locations and licences valid today."""
    today = date.today()
    with operator_scope(), _mango().db.session() as session:
        for obj in session.scalars(select(Partner).order_by(Partner.code)):
            licences = ", ".join(lic.module for lic in obj.licences if lic.valid_on(today)) or "-"
            locations = ", ".join(loc.code for loc in obj.locations) or "-"
            click.echo(f"{obj.code:<12} {obj.company_name:<40} locations: {locations:<20} licences: {licences}")


# --- location ----------------------------------------------------------------------------------


@click.group("location")
def location() -> None:
    """Locations (the tenants) of partners."""


@location.command("create")
@click.argument("code")
@click.option("--partner", "partner_code", required=True, help="Code of the partner.")
@click.option("--name", required=True)
@click.option("--company", required=True, help="Registered company name of the location.")
@click.option("--ico", default="")
@click.option("--dic", default="")
@click.option("--vat-payer/--no-vat-payer", default=False, help="A VAT payer needs a DIČ.")
@click.option("--street", default="")
@click.option("--city", default="")
@click.option("--postal-code", default="")
@click.option("--currency", default="CZK", show_default=True)
@click.option("--locale", default=None, help="Language of documents (default: the default language).")
@with_appcontext
def location_create(code: str, partner_code: str, name: str, company: str, ico: str, dic: str, vat_payer: bool,
                    street: str, city: str, postal_code: str, currency: str, locale: str | None) -> None:
    """Create location CODE of a partner."""
    mango = _mango()
    with operator_scope(), mango.db.session() as session:
        try:
            owner = service.get_partner(session, partner_code)
            obj = service.create_location(
                session, partner=owner, code=code, name=name, company_name=company, ico=ico, dic=dic,
                vat_payer=vat_payer, street=street, city=city, postal_code=postal_code, currency=currency,
                locale=locale or mango.settings["default_locale"], locales=mango.settings["locales"],
            )
        except InvalidValue as exc:
            raise _fail(exc) from exc
        session.commit()
        click.secho(f"Location {obj.code} of partner {owner.code} created.", fg="green")


@location.command("list")
@with_appcontext
def location_list() -> None:
    """List locations with their enabled modules."""
    mango = _mango()
    with operator_scope(), mango.db.session() as session:
        for obj in session.scalars(select(Location).order_by(Location.code)):
            modules = ", ".join(sorted(mango.enabled_modules(obj.id))) or "-"
            click.echo(f"{obj.code:<10} {obj.partner.code:<10} {obj.company_name:<40} modules: {modules}")


# --- plugins -----------------------------------------------------------------------------------


@click.group("plugins")
def plugins() -> None:
    """Installed plugins, the ones loaded by configuration, and their use per location."""


@plugins.command("list")
@with_appcontext
def plugins_list() -> None:
    """Installed plugins, whether configuration loads them, and where they are enabled."""
    mango = _mango()
    installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    configured = mango.settings.plugins
    names = sorted(set(installed) | set(configured))
    click.echo(f"{'PLUGIN':<16} {'VERSION':<10} {'INSTALLED':<10} {'CONFIGURED':<11} {'LOADED':<7} DISTRIBUTION")
    for name in names:
        ep = installed.get(name)
        loaded = mango.plugins.plugins.get(name)
        version = loaded.version if loaded else (ep.dist.version if ep is not None and ep.dist else "-")
        dist = ep.dist.name if ep is not None and ep.dist else "-"
        click.echo(f"{name:<16} {version:<10} {'yes' if ep else 'NO':<10} {'yes' if name in configured else 'no':<11} "
                   f"{'yes' if loaded else 'no':<7} {dist}")
    licensed = [p.name for p in mango.plugins.ordered() if p.licensed]
    if not licensed:
        click.echo("\nNo licensed plugin is loaded, so there is nothing to enable per location.")
        return
    today = date.today()
    click.echo("\nPer location (on = enabled with a valid licence, licence = may be enabled, "
               "expired = enabled but no valid licence, - = no licence):")
    click.echo(f"{'LOCATION':<10} {'PARTNER':<10} " + " ".join(f"{n:<10}" for n in licensed))
    with operator_scope(), mango.db.session() as session:
        switched = {(r.location_id, r.module) for r in session.scalars(select(LocationModule))}
        for loc in session.scalars(select(Location).order_by(Location.code)):
            cells = []
            for name in licensed:
                valid = service.valid_licence(session, loc.partner_id, name, today) is not None
                on = (loc.id, name) in switched
                cells.append("on" if on and valid else "expired" if on else "licence" if valid else "-")
            click.echo(f"{loc.code:<10} {loc.partner.code:<10} " + " ".join(f"{c:<10}" for c in cells))


_PLUGINS_LINE = re.compile(r"^plugins\s*=\s*\[[^\]]*\][ \t]*(#[^\n]*)?$", re.MULTILINE)


def write_plugins_setting(path: Path, names: list[str]) -> None:
    """Set the top-level ``plugins`` list of a TOML file, keeping every other key and comment."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise click.ClickException(f"{path} is not valid TOML ({exc}); fix it by hand first.") from exc
    line = "plugins = [" + ", ".join(f'"{n}"' for n in names) + "]"
    header = re.search(r"^\s*\[", text, re.MULTILINE)
    top = text[: header.start()] if header else text
    if "plugins" in before:
        matches = list(_PLUGINS_LINE.finditer(top))
        if len(matches) != 1:
            raise click.ClickException(f"Cannot find the `plugins = [...]` line in {path}; edit it by hand.")
        new = top[: matches[0].start()] + line + top[matches[0].end():] + text[len(top):]
    else:
        prefix = top if not top or top.endswith("\n") else top + "\n"
        new = prefix + line + "\n" + ("\n" if header else "") + text[len(top):]
    after = tomllib.loads(new)
    expected = {**before, "plugins": names}
    if after != expected:  # pragma: no cover - a safety net for unusual files
        raise click.ClickException(f"Could not update {path} safely; edit `plugins` by hand.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)


def _instance_plugins(path: Path, default: list[str]) -> list[str]:
    if not path.exists():
        return list(default)
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return list(data.get("plugins", default))


def _switch_location(name: str, code: str, enable: bool) -> None:
    mango = _mango()
    with operator_scope(), mango.db.session() as session:
        try:
            loc = service.get_location(session, code)
            if enable:
                changed = service.enable_module(session, mango.plugins, loc, name)
            else:
                changed = service.disable_module(session, mango.plugins, loc, name)
        except InvalidValue as exc:
            raise _fail(exc) from exc
        state = "enabled" if enable else "disabled"
        if changed:
            click.secho(f"Module {name} {state} in location {loc.code}.", fg="green")
        else:
            click.echo(f"Module {name} was already {state} in location {loc.code}; nothing changed.")


def _switch_config(name: str, enable: bool) -> None:
    import os

    mango = _mango()
    if not NAME_RE.match(name) or name == CORE:
        raise click.BadParameter(f"{name!r} is not a plugin name.", param_hint="NAME")
    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    path = mango.settings.instance_config_file
    current = _instance_plugins(path, mango.settings.plugins)
    if enable:
        if name not in installed:
            raise click.ClickException(
                f"Plugin {name!r} is not installed (installed: {', '.join(sorted(installed)) or 'none'}). "
                f"Install it first, e.g. pip install mango-{name}.")
        if name in current:
            click.echo(f"Plugin {name} is already enabled in {path}; nothing changed.")
            return
        new = [*current, name]
    else:
        if name not in current:
            click.echo(f"Plugin {name} is not enabled in {path}; nothing changed.")
            return
        dependants = [p.name for p in mango.plugins.ordered() if name in p.meta.requires and p.name in current]
        if dependants:
            raise click.ClickException(f"Plugin {name} is required by {', '.join(dependants)}; disable those first.")
        new = [n for n in current if n != name]
    write_plugins_setting(path, new)
    click.secho(f"Plugin {name} {'enabled' if enable else 'disabled'} in {path}.", fg="green")
    if enable:
        click.echo("Run `mango db upgrade`, then restart the web and scheduler processes.")
    else:
        click.echo("Restart the web and scheduler processes. Its tables and data are kept.")
    if "MANGO_PLUGINS" in os.environ:
        click.secho("Note: MANGO_PLUGINS is set in the environment and overrides this file.", fg="yellow")


@plugins.command("enable")
@click.argument("name")
@click.option("--location", "location_code", default=None,
              help="Enable the module for this location only (needs the partner's valid licence).")
@with_appcontext
def plugins_enable(name: str, location_code: str | None) -> None:
    """Load plugin NAME (edits `plugins` in <instance>/mango.toml), or enable it for one location."""
    if location_code:
        _switch_location(name, location_code, True)
    else:
        _switch_config(name, True)


@plugins.command("disable")
@click.argument("name")
@click.option("--location", "location_code", default=None, help="Disable the module for this location only.")
@with_appcontext
def plugins_disable(name: str, location_code: str | None) -> None:
    """Stop loading plugin NAME (edits <instance>/mango.toml), or disable it for one location."""
    if location_code:
        _switch_location(name, location_code, False)
    else:
        _switch_config(name, False)


