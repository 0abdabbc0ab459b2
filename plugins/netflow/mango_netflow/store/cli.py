"""``mango netflow`` commands of the store."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
