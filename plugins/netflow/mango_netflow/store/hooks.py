"""Hooks of the NetFlow store (listed in `PLUGIN.parts`)."""

from __future__ import annotations
