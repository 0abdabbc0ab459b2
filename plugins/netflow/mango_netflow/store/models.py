"""Tables of the NetFlow store (registered through mango_netflow.models)."""

from __future__ import annotations

MODELS: list[type] = []
