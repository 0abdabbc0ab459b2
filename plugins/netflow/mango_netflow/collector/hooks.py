"""Hooks of the NetFlow collector (listed in `PLUGIN.parts`): permissions, settings, the exporter
pages in Opcare."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl

if TYPE_CHECKING:
    from flask import Blueprint


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("netflow.exporters.view", _l("View NetFlow exporters and collector counters")),
            Permission("netflow.exporters.manage", _l("Register and change NetFlow exporters"))]


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {
        "collector_port": 2055,            # UDP port of `mango netflow collect`
        "collector_bind": "0.0.0.0",       # listen address (:: for IPv6 and IPv4)
        "collector_flush_seconds": 1.0,    # how often buffers of the writer older than its max age are written
        "collector_counters_seconds": 10.0,  # exporter counters are written this often
        "collector_hold_sets": 256,        # data sets per exporter kept while their template is unknown
        "collector_hold_seconds": 30.0,    # … and for at most this long
    }


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_netflow.collector.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("NetFlow exporters"), "netflow_collector.index", "netflow.exporters.view", section="network",
                     order=70, icon="broadcast")]
