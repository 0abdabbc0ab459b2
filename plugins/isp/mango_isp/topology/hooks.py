"""Hooks of the topology area (listed in `PLUGIN.parts`): the device card's topology section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mango_core.plugins import hookimpl

if TYPE_CHECKING:
    from flask import Blueprint


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_isp.topology.views import bp

    return [bp]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """``device_card``: interfaces, links, dependent services and the link to the impact page."""
    if slot != "device_card" or context.get("device") is None:
        return None
    from mango_isp.topology.views import render_device_slot

    return render_device_slot(context["device"]) or None
