"""Hooks of the helpdesk (listed in `PLUGIN.parts`)."""

from __future__ import annotations
