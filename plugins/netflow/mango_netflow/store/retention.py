"""How long flows are kept, and the job that removes older ones (``netflow:retention``, daily).

A flow is older than a location's retention when its ``last`` is before ``now - retention_months``.
On PostgreSQL a daily partition is dropped whole once every location with blocks in it has only
blocks older than its own retention (normally: older than the longest retention of all locations);
the few older blocks of a location with a shorter retention, and those in the default partition, are
deleted row by row. On SQLite every older block is deleted. Re-running does nothing more.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from mango_core.tenancy.validators import N_, InvalidValue
from mango_netflow.store import partitions
from mango_netflow.store.models import DEFAULT_RETENTION_MONTHS, PARTITION_SCHEMA, FlowBlock, StoreSettings

MAX_RETENTION_MONTHS = 120


@dataclass
class RetentionResult:
    cutoff: datetime
    deleted_blocks: int = 0
    deleted_flows: int = 0
    dropped_partitions: list[str] = field(default_factory=list)

    def summary(self) -> str:
        dropped = ", ".join(self.dropped_partitions) or "-"
        return (f"cutoff {self.cutoff:%Y-%m-%d %H:%M}Z: {self.deleted_blocks} blocks ({self.deleted_flows} flows) "
                f"deleted, partitions dropped: {dropped}")


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` minus calendar months (the day clamped to the shorter month)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def settings_of(session: Session, location_id: int) -> StoreSettings | None:
    return session.scalar(select(StoreSettings).where(StoreSettings.location_id == location_id))


def retention_months(session: Session, location_id: int) -> int:
    found = settings_of(session, location_id)
    return found.retention_months if found is not None else DEFAULT_RETENTION_MONTHS


def save_retention(session: Session, location_id: int, months: object) -> StoreSettings:
    """Set the location's retention (whole months, 1–120); the caller commits."""
    try:
        value = int(str(months).strip())
    except ValueError:
        raise InvalidValue(N_("Retention must be a whole number of months."), field="retention_months") from None
    if not 1 <= value <= MAX_RETENTION_MONTHS:
        raise InvalidValue(N_("Retention must be %(low)d to %(high)d months."), field="retention_months",
                           low=1, high=MAX_RETENTION_MONTHS)
    found = settings_of(session, location_id)
    if found is None:
        found = StoreSettings(location_id=location_id, retention_months=value, longest_block_ms=0)
        session.add(found)
    else:
        found.retention_months = value
    session.flush()
    return found


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def run_retention(session: Session, location_id: int, *, now: datetime | None = None,
                  dry_run: bool = False) -> RetentionResult:
    """Remove the location's flows older than its retention (and, on PostgreSQL, every partition
    that no location keeps any more); in the caller's transaction, in the location's scope."""
    now = now or datetime.now(UTC)
    cutoff = months_before(now, retention_months(session, location_id))
    result = RetentionResult(cutoff=cutoff)
    cutoff_ms = _ms(cutoff)
    old = (FlowBlock.location_id == location_id, FlowBlock.t_first < cutoff_ms, FlowBlock.t_last < cutoff_ms)
    result.deleted_blocks, flows = session.execute(
        select(func.count(), func.coalesce(func.sum(FlowBlock.flows), 0)).select_from(FlowBlock).where(*old)).one()
    result.deleted_flows = int(flows)
    if session.get_bind().dialect.name == "postgresql":
        conn = session.connection()
        if not dry_run:
            partitions.ensure_ahead(conn, now.date())
        result.dropped_partitions = _drop_partitions(conn, now, dry_run=dry_run)
    if result.deleted_blocks and not dry_run:  # those left after the partitions went
        session.execute(delete(FlowBlock).where(*old).execution_options(synchronize_session=False))
    return result


def _drop_partitions(conn, now: datetime, *, dry_run: bool) -> list[str]:  # noqa: ANN001
    """Drop the daily partitions whose every block is older than its location's retention.

    This looks across locations (a partition holds them all), so it reads the table directly: it
    only ever removes what each location's own retention removes anyway.
    """
    months = dict(conn.execute(select(StoreSettings.__table__.c.location_id, StoreSettings.__table__.c.retention_months)).all())
    shortest = min([DEFAULT_RETENTION_MONTHS, *months.values()])
    newest_possible = _ms(months_before(now, shortest))
    dropped = []
    for part in partitions.existing(conn):
        if part.upper is None or part.upper > newest_possible:
            continue  # the default partition, or one that some location may still keep
        newest = conn.execute(text(
            f"SELECT location_id, max(t_last) FROM {PARTITION_SCHEMA}.{part.name} GROUP BY location_id")).all()
        if all(last < _ms(months_before(now, months.get(loc, DEFAULT_RETENTION_MONTHS))) for loc, last in newest):
            dropped.append(part.name)
            if not dry_run:
                conn.execute(text(f"DROP TABLE {PARTITION_SCHEMA}.{part.name}"))
    return dropped
