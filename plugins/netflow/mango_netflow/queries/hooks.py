"""Hooks of the NetFlow queries (listed in `PLUGIN.parts`)."""

from __future__ import annotations
