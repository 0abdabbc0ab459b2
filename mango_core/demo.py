"""``mango demo``: demo partners, locations, bank accounts, licences, roles, users, customers and devices.

Idempotent: what exists is left alone (matched by code, e-mail or role name), so a second run
changes nothing and says so. The passwords are fixed demo passwords, printed on screen; the
command refuses to run in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.auth import service as auth_service
from mango_core.auth.models import Role, RoleAssignment, RolePermission
from mango_core.tenancy import operator_scope, service
from mango_core.tenancy.models import BankAccount, Location, LocationModule, Partner

DEMO_PASSWORD = "mango-demo-2025"

PARTNERS = [
    {"code": "ALFANET", "name": "AlfaNet", "company_name": "AlfaNet s.r.o.", "ico": "28190548",
     "dic": "CZ28190548", "email": "info@alfanet.example", "phone": "+420 222 111 000"},
    {"code": "BETAWIFI", "name": "BetaWifi", "company_name": "BetaWifi s.r.o.", "ico": "04923456",
     "dic": "CZ04923456", "email": "info@betawifi.example", "phone": "+420 544 000 111"},
]

LOCATIONS = [
    {"partner": "ALFANET", "code": "PRAHA", "name": "AlfaNet Praha", "company_name": "AlfaNet s.r.o.",
     "ico": "28190548", "dic": "CZ28190548", "vat_payer": True, "street": "Vinohradská 1234/56",
     "city": "Praha 2", "postal_code": "12000", "email": "praha@alfanet.example",
     "accounts": [("Provozní účet", "2400000009/2010", True), ("Komerční banka", "1234567899/0100", False)]},
    {"partner": "ALFANET", "code": "KLADNO", "name": "AlfaNet Kladno", "company_name": "AlfaNet Kladno s.r.o.",
     "ico": "45678120", "dic": "CZ45678120", "vat_payer": True, "street": "Náměstí Starosty Pavla 7",
     "city": "Kladno", "postal_code": "27201", "email": "kladno@alfanet.example",
     "accounts": [("Provozní účet", "107000000/0300", True)]},
    {"partner": "BETAWIFI", "code": "BRNO", "name": "BetaWifi Brno", "company_name": "BetaWifi s.r.o.",
     "ico": "04923456", "dic": None, "vat_payer": False, "street": "Kounicova 688/38",
     "city": "Brno", "postal_code": "60200", "email": "brno@betawifi.example",
     "accounts": [("Provozní účet", "3300000006/0800", True)]},
]

ADMIN, TECHNIK, REFERENT = "Administrátor", "Technik", "Referent"

# Demo customers per location (plus branches of some companies): about 200 in all.
CUSTOMERS = {"PRAHA": 90, "KLADNO": 45, "BRNO": 45}

# (e-mail, name, partner code or None for the operator, role, locations)
USERS = [
    ("provozovatel@mango.example", "Petra Provozovatelová", None, None, ()),
    ("admin@alfanet.example", "Adam Alfa", "ALFANET", ADMIN, ("PRAHA", "KLADNO")),
    ("technik@alfanet.example", "Tomáš Technik", "ALFANET", TECHNIK, ("PRAHA", "KLADNO")),
    ("referent@alfanet.example", "Renata Referentová", "ALFANET", REFERENT, ("PRAHA",)),
    ("admin@betawifi.example", "Bára Betová", "BETAWIFI", ADMIN, ("BRNO",)),
    ("referent@betawifi.example", "Radek Beta", "BETAWIFI", REFERENT, ("BRNO",)),
]


def role_permissions(declared: set[str]) -> dict[str, set[str]]:
    """Demo roles: the administrator holds every partner permission, the others a few."""
    partner_perms = declared - {"core.partners.manage"}
    viewing = {p for p in partner_perms if p.endswith(".view")}
    return {
        ADMIN: partner_perms,
        TECHNIK: viewing | {p for p in partner_perms if p.startswith(("core.jobs.", "core.devices."))},
        REFERENT: {p for p in viewing if not p.startswith("core.")} | ({"core.locations.view"} & declared),
    }


@dataclass
class Login:
    email: str
    password: str
    role: str
    locations: str


@dataclass
class DemoResult:
    created: list[str] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)


class DemoRefused(RuntimeError):
    pass


def load_demo(session: Session, mango) -> DemoResult:  # noqa: ANN001
    """Create whatever of the demo data is missing (operator scope is set here)."""
    if mango.settings.env == "production":
        raise DemoRefused("Refusing to load demo data in production (env = \"production\").")
    result = DemoResult()
    today = date.today()
    with operator_scope():
        partners: dict[str, Partner] = {}
        for data in PARTNERS:
            obj = session.scalar(select(Partner).where(Partner.code == data["code"]))
            if obj is None:
                obj = service.create_partner(session, **data)
                result.created.append(f"partner {obj.code}")
            partners[obj.code] = obj
            for plugin in mango.plugins.ordered():
                if plugin.licensed and service.valid_licence(session, obj.id, plugin.name, today) is None:
                    service.add_licence(session, obj, plugin.name, valid_from=date(today.year, 1, 1),
                                        note="Demo licence")
                    result.created.append(f"licence {obj.code}/{plugin.name}")
        locations: dict[str, Location] = {}
        for spec in LOCATIONS:
            data = {k: v for k, v in spec.items() if k not in ("partner", "accounts")}
            obj = session.scalar(select(Location).where(Location.code == data["code"]))
            if obj is None:
                obj = service.create_location(session, partner=partners[spec["partner"]],
                                              locales=mango.settings["locales"], **data)
                result.created.append(f"location {obj.code}")
            locations[obj.code] = obj
            existing = {a.label for a in session.scalars(select(BankAccount).where(BankAccount.location_id == obj.id))}
            for label, number, default in spec["accounts"]:
                if label not in existing:
                    service.add_bank_account(session, obj.id, label=label, account=number, is_default=default)
                    result.created.append(f"bank account {obj.code}/{number}")
        session.commit()
        for obj in locations.values():
            enabled = set(session.scalars(select(LocationModule.module).where(LocationModule.location_id == obj.id)))
            for plugin in mango.plugins.ordered():
                if plugin.licensed and plugin.name not in enabled:
                    service.enable_module(session, mango.plugins, obj, plugin.name)  # commits
                    result.created.append(f"module {plugin.name} in {obj.code}")
        perms = role_permissions(set(mango.permissions))
        roles: dict[tuple[str, str], Role] = {}
        for code, partner in partners.items():
            for name, codes in perms.items():
                role = session.scalar(select(Role).where(Role.partner_id == partner.id, Role.name == name))
                if role is None:
                    role = Role(partner_id=partner.id, name=name, description="Demo role")
                    role.permissions = [RolePermission(permission=p) for p in sorted(codes)]
                    session.add(role)
                    session.flush()
                    result.created.append(f"role {code}/{name}")
                roles[(code, name)] = role
        for email, name, partner_code, role_name, where in USERS:
            user = auth_service.find_user(session, email)
            if user is None:
                user = auth_service.create_user(
                    session, email=email, name=name, password=DEMO_PASSWORD,
                    partner_id=partners[partner_code].id if partner_code else None,
                    is_operator=partner_code is None,
                )
                result.created.append(f"user {email}")
            for code in where:
                role = roles[(partner_code, role_name)]
                loc = locations[code]
                held = session.scalar(select(RoleAssignment.id).where(
                    RoleAssignment.user_id == user.id, RoleAssignment.role_id == role.id,
                    RoleAssignment.location_id == loc.id))
                if held is None:
                    session.add(RoleAssignment(user_id=user.id, role_id=role.id, location_id=loc.id))
                    result.created.append(f"role {role_name} of {email} in {code}")
            result.logins.append(Login(
                email, DEMO_PASSWORD,
                role_name or "Provozovatel (operator)",
                ", ".join(where) if where else "všechny / all",
            ))
        session.commit()
    from mango_core.customers.demo import load_customers

    for code, count in CUSTOMERS.items():
        made = load_customers(session, locations[code].id, count)
        if made:
            result.created.append(f"{made} customers in {code}")
    from mango_core.devices.demo import load_devices

    for code, location in locations.items():
        made = load_devices(session, location.id, code)
        if made:
            result.created.append(f"{made} devices in {code}")
    from mango_core.services.demo import load_catalog, load_services

    for code, location in locations.items():
        siblings = [loc.id for loc in locations.values() if loc.partner_id == location.partner_id]
        made = load_catalog(session, location.id, siblings)
        if made:
            result.created.append(f"{made} service classes and products of {code}'s partner")
        made = load_services(session, location.id)
        if made:
            result.created.append(f"{made} services in {code}")
    load_plugin_demos(session, mango, list(locations.values()))
    return result


def load_plugin_demos(session: Session, mango, locations: list[Location]) -> None:  # noqa: ANN001
    """Each plugin's ``mango_demo`` for the demo locations where it is enabled, in ``requires`` order."""
    with operator_scope():
        enabled = {loc.id: set(session.scalars(select(LocationModule.module)
                                               .where(LocationModule.location_id == loc.id)))
                   for loc in locations}
    for plugin in mango.plugins.ordered():
        where = [loc for loc in locations if not plugin.licensed or plugin.name in enabled[loc.id]]
        if not where:
            continue
        # the hook returns nothing: consume the generator so that every implementation runs
        for _plugin, _answer in mango.plugins.contributions("mango_demo", only={plugin.name}, session=session,
                                                             mango=mango, locations=where):
            pass


def load_many_customers(session: Session, count: int) -> None:
    """Bulk-load ``count`` generated customers with 1.5 services each on average into the first
    demo location, with progress bars."""
    from mango_core.customers.bulk import bulk_create
    from mango_core.customers.demo import fake_records
    from mango_core.services.bulk import bulk_services, customers_without_services
    from mango_core.tenancy.context import location_scope
    from mango_core.tenancy.models import Location

    location = session.scalar(select(Location).order_by(Location.code).limit(1))
    with location_scope(location.id), click.progressbar(length=count, label=f"Customers in {location.code}") as bar:
        done = 0

        def advance(made: int) -> None:
            nonlocal done
            bar.update(made - done)
            done = made
            session.commit()  # a batch at a time: memory stays flat, an interrupted load keeps what it made

        bulk_create(session, fake_records(count, seed=location.id), progress=advance)
    with location_scope(location.id):
        customer_ids = customers_without_services(session)
        with click.progressbar(length=len(customer_ids) * 3 // 2, label=f"Services in {location.code}") as bar:
            done = 0

            def advance_services(made: int) -> None:
                nonlocal done
                bar.update(made - done)
                done = made
                session.commit()

            bulk_services(session, customer_ids, per_customer=lambda i: 1 + i % 2, progress=advance_services)


def print_logins(logins: list[Login]) -> None:
    headers = ("E-mail", "Heslo / password", "Role", "Lokace / locations")
    rows = [(x.email, x.password, x.role, x.locations) for x in logins]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(4)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    click.echo(line)
    click.echo("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    click.echo(line)
    for row in rows:
        click.echo("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    click.echo(line)


@click.command("demo")
@click.option("--customers", "extra_customers", type=click.IntRange(min=0), default=0,
              help="Also bulk-load this many more customers (1.5 services each) into the first location (benchmark data).")
@with_appcontext
def demo_command(extra_customers: int) -> None:
    """Load demo partners, locations and users (idempotent) and print their logins."""
    mango = current_app.extensions["mango"]
    if mango.settings.env == "production":
        raise click.ClickException("Refusing to load demo data in production (env = \"production\").")
    with mango.db.session() as session:
        try:
            result = load_demo(session, mango)
            if extra_customers:
                load_many_customers(session, extra_customers)
        except (DemoRefused, ValueError) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
    if result.created:
        click.secho(f"Demo data loaded ({len(result.created)} items created).", fg="green")
    else:
        click.echo("Demo data are already present; nothing changed.")
    click.echo("Opcare logins (demo passwords, never use them in production):")
    print_logins(result.logins)
