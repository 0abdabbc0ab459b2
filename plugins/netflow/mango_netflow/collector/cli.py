"""``mango netflow`` commands of the collector."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
