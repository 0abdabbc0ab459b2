"""API resource of devices (through :mod:`mango_core.devices.service`)."""

from __future__ import annotations

from typing import Any

from mango_core.api.fields import CREATE, WRITE, Field
from mango_core.api.resources import ApiCall, ApiResource
from mango_core.devices import service as devices
from mango_core.devices import types as dtypes
from mango_core.devices.models import STATES, Device

VIEW, MANAGE = "core.devices.view", "core.devices.manage"
PARAMS = {"type": "object", "description": "Parameter values by key (as the device type defines them); "
                                           "a change sends the whole set."}


def _type_key(device: Device) -> str:
    return dtypes.ui_key(device.type_id) if device.type_id is not None else dtypes.code_key(device.type_code or "")


def _create(call: ApiCall, data: dict[str, Any]) -> Device:
    return devices.create_device(call.session, **data)


def _update(call: ApiCall, device: Device, data: dict[str, Any]) -> Device:
    params = data.pop("params", None)
    current = {name: getattr(device, name) for name in devices.DEVICE_FIELDS}
    devices.update_device(call.session, device, params=params, **{**current, **data})
    return device


def _delete(call: ApiCall, device: Device) -> None:
    devices.delete_device(call.session, device)


DEVICES = ApiResource(
    name="devices",
    model=Device,
    title="devices",
    description="Network elements of a location (routers, switches, access points, customers' CPEs).",
    read_permission=VIEW,
    write_permission=MANAGE,
    default_sort="name",
    fields=(
        Field("name", required=True, min_length=1, max_length=200, input=WRITE, sort=True, column=Device.sort_name),
        Field("type_key", required=True, max_length=100, input=CREATE, value=_type_key,
              description="The device type: code:<plugin>.<name> (defined by a module) or ui:<id>."),
        Field("state", enum=STATES, input=WRITE, filter=("eq",), description="planned, active, broken, retired."),
        Field("serial_number", nullable=True, max_length=100, input=WRITE, filter=("eq",)),
        Field("mac", nullable=True, max_length=40, input=WRITE, filter=("eq",),
              description="MAC address (stored as 00:1a:2b:3c:4d:5e)."),
        Field("management_ip", nullable=True, max_length=45, input=WRITE, filter=("eq",)),
        Field("site_id", "integer", nullable=True, minimum=1, input=WRITE, filter=("eq",)),
        Field("parent_id", "integer", nullable=True, minimum=1, input=WRITE, filter=("eq",),
              description="The uplink device."),
        Field("params", "object", schema=PARAMS, input=WRITE),
        Field("params_version", "integer", nullable=True),
        Field("note", nullable=True, max_length=5000, input=WRITE),
        Field("created_at", "datetime", filter=("gte", "lte"), sort=True),
        Field("updated_at", "datetime", sort=True),
    ),
    create=_create,
    update=_update,
    delete=_delete,
)

RESOURCES = [DEVICES]
