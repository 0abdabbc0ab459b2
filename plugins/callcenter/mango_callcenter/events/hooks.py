"""Hooks of the call centre events (listed in `PLUGIN.parts`)."""

from __future__ import annotations
