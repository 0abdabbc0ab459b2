"""Hooks of the call centre comms (listed in `PLUGIN.parts`)."""

from __future__ import annotations
