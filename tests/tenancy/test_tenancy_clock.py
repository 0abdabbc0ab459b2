"""A location's clock: its zone, today there and its days' bounds in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mango_core.tenancy import clock


def test_zone_falls_back_to_prague_for_none_and_unknown_names(caplog):
    assert clock.zone(None) == ZoneInfo("Europe/Prague")
    assert clock.zone("") == ZoneInfo("Europe/Prague")
    assert clock.zone("Europe/Bratislava") == ZoneInfo("Europe/Bratislava")
    assert clock.zone("Mars/Olympus_Mons") == ZoneInfo("Europe/Prague")
    assert "Mars/Olympus_Mons" in caplog.text


def test_location_zone_and_zone_of(db, world):
    world.loc_b.timezone = "America/New_York"
    db.flush()
    assert clock.location_zone(world.loc_b) == ZoneInfo("America/New_York")
    assert clock.location_zone(None) == ZoneInfo("Europe/Prague")
    assert clock.zone_of(db, world.loc_b.id) == ZoneInfo("America/New_York")
    assert clock.zone_of(db, None) == ZoneInfo("Europe/Prague")


def test_today_is_the_zones_day_not_the_machines():
    # Kiribati and Baker Island are 26 hours apart: never the same calendar day.
    east, west = clock.today(ZoneInfo("Pacific/Kiritimati")), clock.today(ZoneInfo("Etc/GMT+12"))
    assert east - west in (timedelta(days=1), timedelta(days=2))
    assert clock.today(ZoneInfo("UTC")) == datetime.now(UTC).date()


def test_midnight_and_day_bounds_follow_daylight_saving():
    prague = ZoneInfo("Europe/Prague")
    assert clock.midnight(date(2026, 1, 15), prague) == datetime(2026, 1, 14, 23, tzinfo=UTC)
    assert clock.midnight(date(2026, 7, 15), prague) == datetime(2026, 7, 14, 22, tzinfo=UTC)
    spring = clock.day_bounds(date(2026, 3, 29), prague)  # clocks go forward: a 23-hour day
    autumn = clock.day_bounds(date(2026, 10, 25), prague)  # and back: 25 hours
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert spring[0].tzinfo is UTC and autumn[1] == datetime(2026, 10, 25, 23, tzinfo=UTC)
