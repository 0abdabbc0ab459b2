"""Hooks of the ISP plugin's demo area (listed in `PLUGIN.parts`): `mango demo`'s network data."""

from __future__ import annotations

import click

from mango_core.plugins import hookimpl


@hookimpl
def mango_demo(session, mango, locations) -> None:  # noqa: ANN001
    """Prefixes, CGNAT, addresses of the demo services, interfaces and links, stock (mango_isp.demo)."""
    from mango_isp.demo import describe, load

    for line in describe(load(session, locations)):
        click.echo(f"ISP demo: {line}")
