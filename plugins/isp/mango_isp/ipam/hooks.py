"""Hooks of the IPAM area (listed in `PLUGIN.parts`): screens, the customer card's network tab,
search by IP or MAC address, the service lifecycle, the ``internet`` kind of service classes."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from mango_core.catalog.kinds import ServiceClassKind
from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem

if TYPE_CHECKING:
    from flask import Blueprint
    from sqlalchemy.orm import Session

    from mango_core.customers.card import CardPart
    from mango_core.services.events import ServiceChangeInfo
    from mango_core.services.models import Service


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_isp.ipam.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [
        MenuItem(_l("IP prefixes"), "isp_ipam.prefixes", "isp.ipam.view", section="network", order=40,
                 icon="diagram-3"),
        MenuItem(_l("Who had an address"), "isp_ipam.who", "isp.ipam.view", section="network", order=41,
                 icon="search"),
    ]


@hookimpl
def mango_service_class_kinds() -> list[ServiceClassKind]:
    return [ServiceClassKind("internet", _l("Internet access"), icon="globe")]


@hookimpl
def mango_customer_card(customer) -> list[CardPart]:  # noqa: ANN001
    from mango_isp.card import card_parts

    return card_parts()


@hookimpl
def mango_customer_search(session: Session, query: str) -> set[int] | None:
    """Customers holding an IP address (or an address of a prefix) now, or with a MAC bound now."""
    from mango_core.db import utcnow
    from mango_isp.ipam.lookup import customers_by_address, customers_by_mac

    now = utcnow()
    return customers_by_address(session, query, now) | customers_by_mac(session, query, now)


@hookimpl
def mango_service_changed(service: Service, change: ServiceChangeInfo, effective: date) -> None:
    from mango_isp.lifecycle import on_service_changed

    on_service_changed(service, change, effective)
