"""The core's customers module, registered through the hooks like any plugin."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl


@hookimpl
def mango_models() -> list[type]:
    from mango_core.customers import models
    from mango_core.db.sequences import Sequence

    # core_sequence is the kernel's generic counter table; customers are its first user.
    return [Sequence, models.Customer, models.CustomerContact, models.CustomerContactChannel,
            models.CustomerAddress, models.CustomerNote, models.CustomerTag, models.CustomerTagLink,
            models.CustomerKeyword, models.CustomerFieldSet]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.customers.view", _l("View customers")),
        Permission("core.customers.manage", _l("Create and edit customers")),
        Permission("core.customers.export", _l("Export customer data (history CSV)")),
        Permission("core.customer_fields.manage", _l("Define custom customer fields")),
    ]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.customers.views import bp

    return [bp]


@hookimpl
def mango_menu_items():  # noqa: ANN201
    from mango_core.customers.views import MENU

    return list(MENU)
