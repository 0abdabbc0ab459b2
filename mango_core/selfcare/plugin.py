"""The core's Selfcare module, registered through the hooks like any plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from flask import Blueprint
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job
from mango_core.selfcare.menu import SelfcareMenuItem
from mango_core.web.menu import MenuItem

if TYPE_CHECKING:
    from mango_core.customers.card import CardPart
    from mango_core.customers.models import Customer


@hookimpl
def mango_models() -> list[type]:
    from mango_core.selfcare import models

    return [models.SelfcareAccount, models.SelfcareToken, models.SelfcareSession, models.TariffRequest,
            models.RegistrationSettings, models.Registration]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.selfcare.view", _l("See customers' portal access and tariff requests")),
        Permission("core.selfcare.manage", _l("Invite customers to the portal and end their access")),
        Permission("core.selfcare.requests", _l("Approve or reject tariff change requests from the portal")),
        Permission("core.selfcare.settings", _l("Allow customers to register in the portal and set their terms")),
    ]


@hookimpl
def mango_jobs() -> list[Job]:
    from mango_core.selfcare.registration import PURGE_REGISTRATIONS

    return [PURGE_REGISTRATIONS]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_core.selfcare import registration_views  # noqa: F401 - its pages are on the portal's blueprint
    from mango_core.selfcare.staff_views import bp as staff
    from mango_core.selfcare.views import bp

    return [bp, staff]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    from mango_core.selfcare.staff_views import MENU

    return list(MENU)


@hookimpl
def mango_selfcare_menu_items() -> list[SelfcareMenuItem]:
    return [
        SelfcareMenuItem(_l("Overview"), "core_selfcare.dashboard", order=0, icon="house"),
        SelfcareMenuItem(_l("Documents"), "core_selfcare.documents_list", order=80, icon="file-earmark-text"),
        SelfcareMenuItem(_l("Contact details"), "core_selfcare.contact", order=90, icon="person-lines-fill"),
    ]


@hookimpl
def mango_customer_card(customer: Customer) -> list[CardPart]:
    from mango_core.customers.card import PANEL, CardPart
    from mango_core.selfcare.staff_views import VIEW, render_panel

    return [CardPart("selfcare", _l("Customer portal"), render_panel, kind=PANEL, order=60, permission=VIEW,
                     icon="person-badge")]


@hookimpl
def mango_customer_changed(customer: Customer, changes: dict[str, tuple[Any, Any]]) -> None:
    """GDPR erasure of a customer removes the portal account (its e-mail is personal data)."""
    if "anonymised_at" not in changes:
        return
    from sqlalchemy.orm import object_session

    from mango_core.selfcare.accounts import forget

    session = object_session(customer)
    if session is not None:
        forget(session, customer.id)


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_core.selfcare.cli import selfcare

    cli.add_command(selfcare)


@hookimpl
def mango_demo(session, mango, locations) -> None:  # noqa: ANN001
    """Portal access for customer number 1 of each demo location (a company with branches), with the
    demo password: ``/selfcare/<CODE>/login``, customer number ``1``. Once: an existing account stays."""
    from sqlalchemy import select

    from mango_core.auth.passwords import hash_password
    from mango_core.customers.models import Customer
    from mango_core.demo import DEMO_PASSWORD
    from mango_core.selfcare.accounts import account_of, contact_email
    from mango_core.selfcare.models import SelfcareAccount
    from mango_core.tenancy.context import location_scope

    for location in locations:
        with location_scope(location.id):
            customer = session.scalar(select(Customer).where(Customer.number == 1, Customer.anonymised_at.is_(None)))
            email = contact_email(customer) if customer is not None else None
            if email is None or account_of(session, customer.id) is not None:
                continue
            taken = session.scalar(select(SelfcareAccount.id).where(SelfcareAccount.email == email.lower()))
            if taken is None:
                session.add(SelfcareAccount(customer_id=customer.id, email=email.lower(),
                                            password_hash=hash_password(DEMO_PASSWORD), is_active=True))
                session.commit()
