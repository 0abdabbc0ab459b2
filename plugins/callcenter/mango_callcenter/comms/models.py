"""Tables of the call centre comms (registered through mango_callcenter.models)."""

from __future__ import annotations

MODELS: list[type] = []
