"""The monitoring state a device is drawn in, on the map and on the graph.

Monitoring (:func:`mango_isp.monitoring.states.current_states`) knows whether a device answers;
it answers for the devices of the session's location (the tenant guard applies). A device it does
not monitor, or a value outside :data:`STATES`, is drawn ``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from mango_isp.monitoring.states import current_states

UP, DEGRADED, DOWN, UNKNOWN = "up", "degraded", "down", "unknown"
STATES = (UP, DEGRADED, DOWN, UNKNOWN)


def device_states(session: Session, device_ids: Iterable[int]) -> dict[int, str]:
    """The state of each device, ``unknown`` where monitoring has nothing to say."""
    ids = sorted(set(device_ids))
    found = current_states(session, ids) if ids else {}
    return {i: found.get(i) if found.get(i) in STATES else UNKNOWN for i in ids}
