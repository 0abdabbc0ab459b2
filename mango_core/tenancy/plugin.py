"""The core's tenancy module (partners, locations, licences), registered through the hooks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.tenancy import models


@hookimpl
def mango_models() -> list[type]:
    return [models.Partner, models.Location, models.Licence, models.LocationModule, models.BankAccount]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.partners.manage", _l("Manage partners and their licences (operator)")),
        Permission("core.locations.view", _l("View location details and bank accounts")),
        Permission("core.locations.manage", _l("Edit location details and bank accounts")),
        Permission("core.modules.manage", _l("Enable or disable licensed modules in a location")),
    ]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.tenancy.views import bp

    return [bp]


@hookimpl
def mango_menu_items():  # noqa: ANN201
    from mango_core.tenancy.views import MENU

    return list(MENU)


@hookimpl
def mango_cli(cli) -> None:  # noqa: ANN001
    from mango_core.demo import demo_command
    from mango_core.tenancy.cli import location, partner, plugins

    for command in (partner, location, plugins, demo_command):
        cli.add_command(command)
