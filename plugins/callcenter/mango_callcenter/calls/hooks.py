"""Hooks of the call centre calls (listed in `PLUGIN.parts`)."""

from __future__ import annotations
