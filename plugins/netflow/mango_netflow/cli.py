"""The ``mango netflow`` command group; each area adds its commands (``COMMANDS`` in its ``cli``)."""

from __future__ import annotations

import click


@click.group("netflow")
def netflow() -> None:
    """NetFlow: collector, replay, data-retention queries, retention."""


def _register() -> None:
    from mango_netflow.accounting.cli import COMMANDS as ACCOUNTING
    from mango_netflow.collector.cli import COMMANDS as COLLECTOR
    from mango_netflow.queries.cli import COMMANDS as QUERIES
    from mango_netflow.store.cli import COMMANDS as STORE

    for command in (*COLLECTOR, *STORE, *QUERIES, *ACCOUNTING):
        netflow.add_command(command)


_register()
