"""Tables of the NetFlow queries (registered through mango_netflow.models)."""

from __future__ import annotations

MODELS: list[type] = []
