"""Tables of the cashdesk area (registered through mango_ixpos.models)."""

from __future__ import annotations

MODELS: list[type] = []
