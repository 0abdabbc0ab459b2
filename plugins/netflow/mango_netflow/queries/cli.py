"""``mango netflow`` commands of the queries."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
