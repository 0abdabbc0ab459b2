"""The monitoring state a device is drawn in, on the map and on the graph.

Monitoring (``mango_isp.monitoring``) is the one that knows whether a device answers. The maps
read it through one optional function, so that they work, all grey, before monitoring exists or
where it is not deployed:

    mango_isp.monitoring.states.current_states(session, device_ids: list[int]) -> Mapping[int, str]

It answers for the devices of the session's location (the tenant guard applies) with one of
:data:`STATES`; a device it does not know, or a value outside :data:`STATES`, is ``unknown``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy.orm import Session

UP, DEGRADED, DOWN, UNKNOWN = "up", "degraded", "down", "unknown"
STATES = (UP, DEGRADED, DOWN, UNKNOWN)
PROVIDER_MODULE = "mango_isp.monitoring.states"
PROVIDER_FUNCTION = "current_states"

Reader = Callable[[Session, list[int]], Mapping[int, str]]


def _provider() -> Reader | None:
    """Monitoring's reader, or None while monitoring does not provide one (a broken module still fails)."""
    try:
        module = importlib.import_module(PROVIDER_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != PROVIDER_MODULE:
            raise
        return None
    return getattr(module, PROVIDER_FUNCTION, None)


def device_states(session: Session, device_ids: Iterable[int]) -> dict[int, str]:
    """The state of each device, ``unknown`` where monitoring has nothing to say."""
    ids = sorted(set(device_ids))
    found: Mapping[int, str] = {}
    reader = _provider()
    if reader is not None and ids:
        found = reader(session, ids) or {}
    return {i: found.get(i) if found.get(i) in STATES else UNKNOWN for i in ids}
