"""Hooks of the NetFlow queries (listed in `PLUGIN.parts`): permissions, Opcare pages and menu, the
API resource ``netflow-queries``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.api.resources import ApiResource


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("netflow.retention.query", _l("Run data-retention queries (who used an address, flows)")),
            Permission("netflow.retention.audit", _l("View the audit log of data-retention queries"))]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_netflow.queries.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Who used an address"), "netflow_queries.who", "netflow.retention.query", section="network",
                     order=80, icon="person-badge"),
            MenuItem(_l("Flow search"), "netflow_queries.flows", "netflow.retention.query", section="network",
                     order=81, icon="list-columns"),
            MenuItem(_l("Audit log of data-retention queries"), "netflow_queries.audit", "netflow.retention.audit",
                     section="network", order=82, icon="journal-lock")]


@hookimpl
def mango_api_resources() -> list[ApiResource]:
    from mango_netflow.queries.api import QUERIES

    return [QUERIES]
