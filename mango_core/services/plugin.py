"""The core's services module, registered through the hooks like any plugin."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem


@hookimpl
def mango_models() -> list[type]:
    from mango_core.services import models

    return [models.Service, models.ServiceBlock, models.ServiceDevice, models.ServiceChange]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.services.view", _l("View services")),
        Permission("core.services.manage", _l("Create services and change them")),
    ]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.services.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [MenuItem(_l("Services"), "core_services.index", "core.services.view", section="customers", order=20,
                     icon="hdd-network")]


@hookimpl
def mango_jobs():  # noqa: ANN201
    from mango_core.services.jobs import APPLY_SERVICE_CHANGES

    return [APPLY_SERVICE_CHANGES]


@hookimpl
def mango_customer_card(customer):  # noqa: ANN001, ANN201
    from mango_core.customers.card import CardPart
    from mango_core.services.views import render_customer_tab

    return [CardPart("services", _l("Services"), render_customer_tab, order=100, permission="core.services.view",
                     icon="hdd-network")]
