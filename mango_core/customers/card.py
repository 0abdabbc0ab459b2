"""The parts of the Opcare customer card that modules contribute (``mango_customer_card``).

The card itself shows the overview; every other tab — history, services, documents, invoices,
tickets — is a part contributed through the hook, so a tab exists only when a module provides
it (the core's history included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import g

if TYPE_CHECKING:
    from mango_core.customers.models import Customer

TAB, PANEL = "tab", "panel"


@dataclass
class CardPart:
    """A tab or an overview panel of the customer card.

    ``render(customer)`` returns HTML (usually ``render_template(...)``); it may read
    ``request.args`` for its own filters. ``key`` is unique on the card (``<plugin>_<what>``
    or a plain word for the core's own tabs) and appears in the URL (``?tab=key``).
    """

    key: str
    label: Any  # a lazy_gettext string
    render: Callable[[Customer], str]
    kind: str = TAB
    order: int = 100
    permission: str | None = None
    icon: str = ""
    plugin: str = ""  # set from the contributing plugin


def card_parts(customer: Customer) -> list[CardPart]:
    """Parts from the plugins active in the customer's location that the user may see, in order."""
    from mango_core.kernel import current_mango
    from mango_core.web.access import has_permission

    mango = current_mango()
    active = g.active_modules if "active_modules" in g else mango.plugins.active_names(customer.location_id)
    parts: list[CardPart] = []
    for plugin, items in mango.plugins.contributions("mango_customer_card", only=active, customer=customer):
        for part in items:
            part.plugin = plugin.name
            if part.permission is None or has_permission(part.permission):
                parts.append(part)
    return sorted(parts, key=lambda p: (p.order, p.key))
