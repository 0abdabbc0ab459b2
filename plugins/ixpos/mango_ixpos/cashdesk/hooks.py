"""Hooks of the cashdesk area (listed in `PLUGIN.parts`)."""

from __future__ import annotations
