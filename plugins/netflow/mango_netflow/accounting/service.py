"""Traffic accounting: bytes per service and hour from the stored flows, daily totals, usage for billing.

The job ``netflow:accounting`` accounts complete hours after the location's watermark
(``netflow_accounting_state.done_until``): an hour is complete ``delay`` after its end (flows are
exported when they end or hit the exporter's active timeout, and the collector buffers a few
seconds). A flow belongs to the hour holding its ``last`` time, and to the service whose
assignment held its subscriber-side address then (:mod:`mango_netflow.accounting.attribute`).
An hour is rewritten whole — its rows deleted and inserted — with the watermark moved in the
same transaction, so a re-run or a crash half-way never counts anything twice; a location that
was down catches up ``max_hours`` per run. Flows that arrive after their hour was accounted are
added by ``mango netflow accounting --from … --to …`` (:func:`rebuild`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.db.bulk import STAMPED
from mango_core.tenancy import clock
from mango_isp.ipam import addresses as ad
from mango_isp.ipam.models import Assignment, CgnatConfig
from mango_netflow.accounting.attribute import Held, Nat, attribute, held, nat_of
from mango_netflow.accounting.models import AccountingState, TrafficHour
from mango_netflow.store import read

HOUR = timedelta(hours=1)
DEFAULTS = {
    "accounting_delay_minutes": 20,    # an hour is accounted this long after its end
    "accounting_backfill_hours": 24,   # a location's first run starts this far back
    "accounting_max_hours": 48,        # hours accounted per run at most (catching up)
}
GB = Decimal(10) ** 9
GB_STEP = Decimal("0.0001")  # billing keeps quantities to 4 places: 100 kB


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- accounting hours -------------------------------------------------------------------------------


def holds_during(session: Session, start: datetime, end: datetime) -> list[Held]:
    """Every assignment of the location that held an address at some time in [start, end)."""
    rows = session.scalars(select(Assignment).where(
        Assignment.valid_from < end, or_(Assignment.valid_to.is_(None), Assignment.valid_to > start)))
    return [held(ad.to_address(a.family, a.network), a.prefixlen, a.family, _ms(a.valid_from),
                 _ms(a.valid_to) if a.valid_to else None, a.service_id) for a in rows]


def nats_during(session: Session, start: datetime, end: datetime) -> list[Nat]:
    """The location's CGNAT configurations valid at some time in [start, end)."""
    rows = session.scalars(select(CgnatConfig).where(
        CgnatConfig.valid_from < end, or_(CgnatConfig.valid_to.is_(None), CgnatConfig.valid_to > start)))
    return [nat_of(c.plan(), _ms(c.valid_from), _ms(c.valid_to) if c.valid_to else None) for c in rows]


def account_hour(session: Session, location_id: int, hour: datetime) -> int:
    """(Re)write the rows of one hour; the number of services with traffic in it."""
    hour = floor_hour(hour)
    end = hour + HOUR
    flows = read.flows(session, location_id, hour, end)
    flows = flows[(flows["last"] >= _ms(hour)) & (flows["last"] < _ms(end))]
    totals = attribute(flows, holds_during(session, hour, end), nats_during(session, hour, end))
    session.execute(delete(TrafficHour).where(TrafficHour.hour == hour))
    rows = [{"location_id": location_id, "service_id": service_id, "hour": hour, "bytes_in": t.bytes_in,
             "bytes_out": t.bytes_out, "flows": t.flows} for service_id, t in sorted(totals.items())]
    if rows:
        session.execute(insert(TrafficHour).execution_options(**STAMPED), rows)
    return len(rows)


@dataclass
class RunResult:
    hours: int = 0
    services: int = 0
    done_until: datetime | None = None

    def __str__(self) -> str:
        until = self.done_until.isoformat() if self.done_until else "-"
        return f"{self.hours} hours, {self.services} service-hours, done until {until}"


def state(session: Session) -> AccountingState | None:
    return session.scalar(select(AccountingState))


def run(session: Session, location_id: int, *, now: datetime | None = None,
        settings: dict[str, Any] | None = None) -> RunResult:
    """Account the complete hours after the watermark (at most ``accounting_max_hours``)."""
    options = {**DEFAULTS, **(settings or {})}
    now = now or utcnow()
    ready = floor_hour(now - timedelta(minutes=int(options["accounting_delay_minutes"])))
    current = state(session)
    if current is None:
        current = AccountingState(done_until=ready - timedelta(hours=int(options["accounting_backfill_hours"])))
        session.add(current)
        session.flush()
    result = RunResult(done_until=current.done_until)
    hour = current.done_until
    while hour < ready and result.hours < int(options["accounting_max_hours"]):
        result.services += account_hour(session, location_id, hour)
        result.hours += 1
        hour += HOUR
    if result.hours:
        current.done_until = hour
        current.updated_at = now
        result.done_until = hour
    session.flush()
    return result


def rebuild(session: Session, location_id: int, start: datetime, end: datetime) -> int:
    """Account the hours of [start, end) again (late flows, changed assignments); the watermark stays."""
    hour, count = floor_hour(start), 0
    while hour < end:
        account_hour(session, location_id, hour)
        hour += HOUR
        count += 1
    return count


# --- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    start: datetime  # the hour, or the day's local midnight (UTC)
    bytes_in: int
    bytes_out: int

    @property
    def total(self) -> int:
        return self.bytes_in + self.bytes_out


def hourly(session: Session, service_id: int, start: datetime, end: datetime) -> list[Volume]:
    rows = session.execute(select(TrafficHour.hour, TrafficHour.bytes_in, TrafficHour.bytes_out).where(
        TrafficHour.service_id == service_id, TrafficHour.hour >= start, TrafficHour.hour < end)
        .order_by(TrafficHour.hour))
    return [Volume(h, i, o) for h, i, o in rows]


def daily(session: Session, service_id: int, first: date, last: date, zone: ZoneInfo) -> list[Volume]:
    """Totals per local day from ``first`` to ``last`` (inclusive), days without traffic as zeros."""
    sums: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for v in hourly(session, service_id, clock.midnight(first, zone), clock.midnight(last + timedelta(days=1), zone)):
        day = v.start.astimezone(zone).date()
        sums[day][0] += v.bytes_in
        sums[day][1] += v.bytes_out
    days = []
    day = first
    while day <= last:
        days.append(Volume(clock.midnight(day, zone), *sums.get(day, (0, 0))))
        day += timedelta(days=1)
    return days


def totals(session: Session, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """Bytes in and out per service of the location over [start, end)."""
    rows = session.execute(select(TrafficHour.service_id, func.sum(TrafficHour.bytes_in),
                                  func.sum(TrafficHour.bytes_out))
                           .where(TrafficHour.hour >= start, TrafficHour.hour < end)
                           .group_by(TrafficHour.service_id))
    return {s: (int(i or 0), int(o or 0)) for s, i, o in rows}


def usage_counters(session: Session, location_id: int, period_start: date, period_end: date) -> list[dict[str, Any]]:
    """Data volume (in + out, GB = 10⁹ bytes, exact Decimal) per service for [period_start, period_end).

    Reported only once the period is completely accounted (the watermark is past its end): billing
    stores a key once, so an early, partial figure would stick. Rounded half up to 0.0001 GB (billing
    stores four places); a service that rounds to zero is not reported.
    """
    zone = clock.zone_of(session, location_id)
    start, end = clock.midnight(period_start, zone), clock.midnight(period_end, zone)
    current = state(session)
    if current is None or current.done_until < end:
        return []
    counters = []
    for service_id, (bytes_in, bytes_out) in sorted(totals(session, start, end).items()):
        quantity = (Decimal(bytes_in + bytes_out) / GB).quantize(GB_STEP, ROUND_HALF_UP)
        if quantity <= 0:
            continue
        counters.append({"service_id": service_id, "key": f"data:{service_id}:{period_start}:{period_end}",
                         "quantity": quantity, "unit": "GB",
                         "description": f"Data {period_start:%d.%m.%Y} – {period_end - timedelta(days=1):%d.%m.%Y}",
                         "started_at": start})
    return counters
