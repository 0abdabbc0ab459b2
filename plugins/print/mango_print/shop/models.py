"""Tables of the shop area (registered through mango_print.models)."""

from __future__ import annotations

MODELS: list[type] = []
