"""The core's devices module, registered through the hooks like any plugin."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl


@hookimpl
def mango_models() -> list[type]:
    from mango_core.devices import models

    return [models.Site, models.DeviceType, models.DeviceTypeVersion, models.Device]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.devices.view", _l("View devices and sites")),
        Permission("core.devices.manage", _l("Create and edit devices and sites")),
        Permission("core.device_types.manage", _l("Define device types")),
    ]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.devices.views import bp

    return [bp]


@hookimpl
def mango_menu_items():  # noqa: ANN201
    from mango_core.devices.views import MENU

    return list(MENU)
