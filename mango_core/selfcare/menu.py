"""The portal's navigation: entries contributed through ``mango_selfcare_menu_items``.

Each entry names an endpoint of its plugin's portal blueprint (``<plugin>_selfcare``; the core's
own is ``core_selfcare``). Entries are collected and checked once per application and shown
only where their plugin is enabled in the customer's location.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g

from mango_core.plugins import CORE, PluginError


@dataclass
class SelfcareMenuItem:
    label: Any  # a lazy_gettext string, translated per request
    endpoint: str  # "<plugin>_selfcare.<view>", a view guarded by customer_required
    order: int = 100
    icon: str = ""  # a Bootstrap Icons name
    plugin: str = ""  # set from the contributing plugin


def all_items() -> list[SelfcareMenuItem]:
    """Every contributed entry, checked once: its endpoint must be a portal view of its own plugin."""
    cached = current_app.extensions.get("mango_selfcare_menu")
    if cached is not None:
        return cached
    mango = current_app.extensions["mango"]
    items = []
    for plugin, item in mango.plugins.contributed_list("mango_selfcare_menu_items"):
        blueprint = item.endpoint.split(".")[0]
        if blueprint != f"{plugin.name}_selfcare" or item.endpoint not in current_app.view_functions:
            raise PluginError(f"Plugin {plugin.name!r}: Selfcare menu item {item.endpoint!r} must name a view of its "
                              f"blueprint {plugin.name}_selfcare")
        if not getattr(current_app.view_functions[item.endpoint], "mango_selfcare", False):
            raise PluginError(f"Plugin {plugin.name!r}: Selfcare view {item.endpoint!r} is not guarded by "
                              "mango_core.selfcare.access.customer_required")
        item.plugin = plugin.name
        items.append(item)
    items.sort(key=lambda i: (i.order, str(i.label)))
    current_app.extensions["mango_selfcare_menu"] = items
    return items


def visible_items() -> list[SelfcareMenuItem]:
    """Entries of the plugins enabled in the customer's location (the core's always)."""
    active = g.get("active_modules") or set()
    return [item for item in all_items() if item.plugin == CORE or item.plugin in active]
