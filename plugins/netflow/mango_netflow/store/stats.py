"""What a location has stored: blocks, flows, time range, bytes (for the Opcare page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_netflow.store.models import FlowBlock


@dataclass(frozen=True)
class StoreStats:
    blocks: int
    flows: int
    oldest: datetime | None
    newest: datetime | None
    data_bytes: int

    @property
    def bytes_per_flow(self) -> float | None:
        return self.data_bytes / self.flows if self.flows else None


def _moment(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def location_stats(session: Session, location_id: int) -> StoreStats:
    blocks, flows, oldest, newest, size = session.execute(
        select(func.count(), func.coalesce(func.sum(FlowBlock.flows), 0), func.min(FlowBlock.t_first),
               func.max(FlowBlock.t_last), func.coalesce(func.sum(func.length(FlowBlock.data)), 0))
        .select_from(FlowBlock).where(FlowBlock.location_id == location_id)).one()
    return StoreStats(int(blocks), int(flows), _moment(oldest), _moment(newest), int(size))
