"""Hooks of the NetFlow collector (listed in `PLUGIN.parts`)."""

from __future__ import annotations
