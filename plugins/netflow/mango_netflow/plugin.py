"""The NetFlow plugin's registration with the Mango kernel."""

from __future__ import annotations

from pathlib import Path

import click

from mango_core.plugins import PluginMeta, hookimpl

HERE = Path(__file__).resolve().parent

PLUGIN = PluginMeta(
    title="NetFlow",
    description="NetFlow v5/v9 and IPFIX collector, 6-month data retention and queries, traffic accounting.",
    requires=("isp",),
    # each area registers its own hooks beside its code
    parts=(
        "mango_netflow.collector.hooks",   # exporters, collector counters
        "mango_netflow.store.hooks",       # flow blocks, retention job
        "mango_netflow.queries.hooks",     # who used X at T, flow search, CSV for the authority, audit log
        "mango_netflow.accounting.hooks",  # bytes per service and hour/day, graphs, usage for billing
    ),
)


@hookimpl
def mango_models() -> list[type]:
    from mango_netflow.models import MODELS

    return MODELS


@hookimpl
def mango_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def mango_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_netflow.cli import netflow

    cli.add_command(netflow)
