"""Hooks of the shop area (listed in `PLUGIN.parts`): the service class kind ``print``, permissions,
the Opcare pages (production board, orders, print products) and the portal's shop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl

if TYPE_CHECKING:
    from flask import Blueprint


@hookimpl
def mango_service_class_kinds() -> list[Any]:
    from mango_core.catalog.kinds import ServiceClassKind

    return [ServiceClassKind("print", _l("Print product"), icon="printer")]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("print.orders.view", _l("View print orders, files and job tickets")),
            Permission("print.orders.manage", _l("Move print orders through production")),
            Permission("print.products.manage", _l("Set print products: pages, bleed and price rules"))]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_print.shop.selfcare_views import bp as selfcare
    from mango_print.shop.views import bp

    return [bp, selfcare]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Print production"), "print.board", "print.orders.view", section="main", order=60,
                     icon="printer"),
            MenuItem(_l("Print products"), "print.product_list", "print.products.manage", section="billing",
                     order=22, icon="printer")]


@hookimpl
def mango_selfcare_menu_items() -> list[Any]:
    from mango_core.selfcare.menu import SelfcareMenuItem

    return [SelfcareMenuItem(_l("Print shop"), "print_selfcare.shop", order=50, icon="printer")]


@hookimpl
def mango_customer_card(customer: Any) -> list[Any]:
    """A tab of the customer's print orders (for staff who may see orders)."""
    from mango_core.customers.card import CardPart
    from mango_print.shop.views import render_card

    return [CardPart("print_orders", _l("Print orders"), render_card, order=60, permission="print.orders.view",
                     icon="printer")]


@hookimpl
def mango_demo(session: Any, mango: Any, locations: list[Any]) -> None:
    """Flyers and business cards with price rules in the demo locations (mango_print.shop.demo)."""
    import click

    from mango_print.shop.demo import load

    for line in load(session, locations):
        click.echo(f"Print demo: {line}")
