"""The current monitoring state of devices, for the map and the topology graph (mango_isp.maps.states)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_isp.monitoring.models import DeviceStatus


def current_states(session: Session, device_ids: list[int]) -> dict[int, str]:
    """``{device_id: "up" | "down" | "unknown"}`` of the monitored ones among ``device_ids`` (this location)."""
    found: dict[int, str] = {}
    for start in range(0, len(device_ids), 5000):
        chunk = list(device_ids)[start:start + 5000]
        rows = session.execute(select(DeviceStatus.device_id, DeviceStatus.state)
                               .where(DeviceStatus.device_id.in_(chunk))).all()
        found.update((device_id, state) for device_id, state in rows)
    return found
