"""Hooks of the NetFlow accounting (listed in `PLUGIN.parts`)."""

from __future__ import annotations
