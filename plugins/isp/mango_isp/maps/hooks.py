"""Hooks of the maps area (listed in `PLUGIN.parts`): the map and graph pages, their menu items,
the tile server setting, and links from the device card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem

if TYPE_CHECKING:
    from flask import Blueprint


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_isp.maps.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [
        MenuItem(_l("Network map"), "isp_maps.map_page", "isp.topology.view", section="network", order=45,
                 icon="map"),
        MenuItem(_l("Topology graph"), "isp_maps.graph", "isp.topology.view", section="network", order=46,
                 icon="diagram-3-fill"),
    ]


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {
        # Leaflet URL template of the map's tiles; OpenStreetMap's public servers are for light use
        # only (tile usage policy): production should run or rent its own tile server.
        "tile_url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        # HTML shown in the map's corner; the tile source's licence requires it
        "tile_attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    }


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """``device_card``: the device on the map and on the topology graph."""
    if slot != "device_card" or context.get("device") is None:
        return None
    from mango_isp.maps.views import render_device_links

    return render_device_links(context["device"]) or None
