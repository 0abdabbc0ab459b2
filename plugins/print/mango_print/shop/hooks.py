"""Hooks of the shop area (listed in `PLUGIN.parts`)."""

from __future__ import annotations
