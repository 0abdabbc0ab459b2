"""The core's catalogue module (service classes and products), registered through the hooks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem


@hookimpl
def mango_models() -> list[type]:
    from mango_core.catalog import models

    return [models.ServiceClass, models.ServiceClassVersion, models.Product, models.ProductLocation]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.catalog.view", _l("View service classes and products")),
        Permission("core.catalog.manage", _l("Define service classes and products")),
    ]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.catalog.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [
        MenuItem(_l("Products"), "core_catalog.products", "core.catalog.view", section="billing", order=20,
                 icon="box-seam"),
        MenuItem(_l("Service classes"), "core_catalog.classes", "core.catalog.view", section="billing", order=25,
                 icon="diagram-3"),
    ]


@hookimpl
def mango_service_class_kinds():  # noqa: ANN201
    from mango_core.catalog.kinds import ServiceClassKind

    return [ServiceClassKind("other", _l("Other"), icon="box")]
