"""A location's clock: its time zone, today there, and where its calendar days start in UTC.

Every location stores an IANA zone name (validated when saved). Calendar questions — which day a
receipt belongs to, where a billing month or a data-retention day ends — are asked in that zone,
never in the machine's: between 23:00 and 24:00 UTC it is already tomorrow in Prague.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mango_core.tenancy.models import Location

DEFAULT_TIMEZONE = "Europe/Prague"

log = logging.getLogger(__name__)


def zone(name: str | None) -> ZoneInfo:
    """The zone called ``name``; Prague for none, and for a name this machine's tzdata lacks."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        # Saved names are validated, so only a changed tzdata gets here; a day boundary an hour
        # off is better than a billing run or a report that cannot start at all.
        log.warning("unknown time zone %r, using %s", name, DEFAULT_TIMEZONE)
        return ZoneInfo(DEFAULT_TIMEZONE)


def location_zone(location: Location | None) -> ZoneInfo:
    return zone(location.timezone if location is not None else None)


def zone_of(session: Session, location_id: int | None) -> ZoneInfo:
    from mango_core.tenancy.models import Location

    return location_zone(session.get(Location, location_id) if location_id is not None else None)


def today(where: ZoneInfo) -> date:
    """The calendar day in ``where`` now."""
    return datetime.now(where).date()


def midnight(day: date, where: ZoneInfo) -> datetime:
    """The start of ``day`` in ``where``, as an aware UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=where).astimezone(UTC)


def day_bounds(day: date, where: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``day`` in ``where``, in UTC; 23 or 25 hours on the days clocks change."""
    return midnight(day, where), midnight(day + timedelta(days=1), where)
