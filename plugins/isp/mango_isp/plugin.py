"""The ISP plugin's registration with the Mango kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import PluginMeta, hookimpl

HERE = Path(__file__).resolve().parent

PLUGIN = PluginMeta(
    title="ISP",
    description="IP address management with history and CGNAT, network topology, CPE and stock.",
    # each area registers its own hooks beside its code
    parts=(
        "mango_isp.ipam.hooks",      # prefixes, pools, assignments, "who had X at T", customer search
        "mango_isp.topology.hooks",  # interfaces, links, dependencies, impact (device card)
        "mango_isp.stock.hooks",     # warehouses, CPE and spare parts, movements
        "mango_isp.hooks_demo",      # demo data for `mango demo`
        "mango_isp.queue.hooks",     # provisioning: task queue, routers, reconcile
        "mango_isp.backup.hooks",    # NETCONF devices and configuration backup
        "mango_isp.monitoring.hooks",  # reachability, state history, alerts
        "mango_isp.maps.hooks",      # topology graph and geographic map
    ),
)


@hookimpl
def mango_models() -> list[type]:
    from mango_isp.models import MODELS

    return MODELS


@hookimpl
def mango_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def mango_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {
        # rows of an assignment history shown on a prefix page
        "history_rows": 200,
    }


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("isp.ipam.view", _l("View IP prefixes, assignments and their history")),
        Permission("isp.ipam.manage", _l("Manage IP prefixes, pools, assignments and CGNAT")),
        Permission("isp.topology.view", _l("View interfaces, links and impact of devices")),
        Permission("isp.topology.manage", _l("Manage interfaces, links and service dependencies")),
        Permission("isp.stock.view", _l("View warehouses, stock and end devices")),
        Permission("isp.stock.manage", _l("Record stock movements and manage warehouses and articles")),
    ]


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_isp.cli import isp

    cli.add_command(isp)
