"""``mango netflow`` commands of the accounting."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
