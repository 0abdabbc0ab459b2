"""Hooks of the stock area (listed in `PLUGIN.parts`): warehouses and end devices, and the device
types end devices become when they are registered in the network."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from mango_core.devices.types import DeviceTypeDef
from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.services.events import ServiceChangeInfo
    from mango_core.services.models import Service


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_isp.stock.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [
        MenuItem(_l("Stock"), "isp_stock.index", "isp.stock.view", section="network", order=50, icon="box-seam"),
        MenuItem(_l("End devices"), "isp_stock.items", "isp.stock.view", section="network", order=51,
                 icon="router"),
    ]


@hookimpl
def mango_device_types() -> list[DeviceTypeDef]:
    return [
        DeviceTypeDef("isp.cpe", _l("Customer router (CPE)"), description=_l("An end device from the stock"),
                      icon="router"),
        DeviceTypeDef("isp.ont", _l("Optical network terminal (ONT)"), description=_l("An end device from the stock"),
                      icon="router"),
        DeviceTypeDef("isp.stb", _l("Set-top box"), description=_l("An end device from the stock"), icon="tv"),
    ]


@hookimpl
def mango_service_changed(service: Service, change: ServiceChangeInfo, effective: date) -> None:
    """``transfer``: the end devices installed for the service follow it to the new customer."""
    if change.kind != "transfer":
        return
    from sqlalchemy.orm import object_session

    from mango_core.services.models import Service as ServiceRow
    from mango_isp.ipam.assignments import local_midnight
    from mango_isp.stock.service import follow_service_transfer

    session = object_session(service)
    new_id = (change.changes.get("transferred_to") or (None, None))[1]
    new = session.get(ServiceRow, new_id) if session is not None and new_id else None
    if new is not None:
        follow_service_transfer(session, service, new, at=local_midnight(session, service.location_id, effective),
                                actor=change.user_id)
