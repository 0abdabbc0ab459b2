"""The collector's counters, added to the database periodically (several collectors may add to
the same rows: every write is an increment, never an overwrite)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_core.tenancy.context import operator_scope
from mango_netflow.collector.models import COUNTERS, Exporter, UnknownSource


@dataclass
class Delta:
    """What one exporter adds since the last write."""

    packets: int = 0
    flows: int = 0
    malformed: int = 0
    irregular: int = 0
    missing_template: int = 0
    templates: int = 0
    last_packet: float | None = None  # time.time()

    def empty(self) -> bool:
        return not any(getattr(self, name) for name in COUNTERS)


@dataclass
class Unknown:
    packets: int = 0
    first: float = 0.0
    last: float = 0.0


@dataclass
class Pending:
    exporters: dict[int, Delta] = field(default_factory=dict)
    unknown: dict[str, Unknown] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.unknown) or any(not delta.empty() for delta in self.exporters.values())


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def persist(session: Session, pending: Pending) -> None:
    """Add ``pending`` to the stored counters and commit."""
    with operator_scope():
        for exporter_id, delta in pending.exporters.items():
            if delta.empty():
                continue
            values = {name: getattr(Exporter, name) + getattr(delta, name) for name in COUNTERS}
            if delta.last_packet is not None:
                values["last_packet_at"] = _at(delta.last_packet)
            session.execute(update(Exporter).where(Exporter.id == exporter_id).values(**values)
                            .execution_options(synchronize_session=False))
        for address, seen in sorted(pending.unknown.items()):
            _add_unknown(session, address, seen)
    session.commit()


def _add_unknown(session: Session, address: str, seen: Unknown) -> None:
    for _attempt in range(2):  # another collector may insert the same address at the same moment
        stored = session.scalar(select(UnknownSource).where(UnknownSource.address == address))
        if stored is not None:
            stored.packets += seen.packets
            stored.last_seen_at = max(stored.last_seen_at, _at(seen.last))
            session.flush()
            return
        try:
            with session.begin_nested():
                session.add(UnknownSource(address=address, packets=seen.packets, first_seen_at=_at(seen.first),
                                          last_seen_at=_at(seen.last)))
            return
        except IntegrityError:
            continue
