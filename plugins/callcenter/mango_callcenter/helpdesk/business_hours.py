"""Business hours: when a location works, and SLA arithmetic in working time.

A location's calendar is its weekday hours (``callcenter_business_hours``: one interval per weekday in
minutes of the local day; a weekday without a row is closed; a location with no rows at all works
Monday to Friday 8:00–16:00), the public holidays of its country (Czech ones, Easter computed) and the
extra closed days staff enter (``callcenter_closed_day``). Hours are local wall-clock times of the
location's time zone; the arithmetic runs on real (UTC) time, so a working day across a DST change
is an hour shorter or longer only when its hours span the change (e.g. 0:00–24:00).

Working intervals are closed at both ends for landing: an SLA due exactly at closing time is the
end of that day's work, not the next morning (adding zero to a closed moment gives the next opening).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_callcenter.helpdesk.models import BusinessHours, ClosedDay
from mango_core.tenancy import clock
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue

DEFAULT_HOURS = {d: (8 * 60, 16 * 60) for d in range(5)}  # Monday to Friday 8:00–16:00
MAX_DAYS = 15_000  # a search this long means a calendar without working time (refused when saved)


class NoWorkingTime(ValueError):
    """The calendar has no working time within :data:`MAX_DAYS` days."""


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month = (h + m - 7 * n + 114) // 31
    day = (h + m - 7 * n + 114) % 31 + 1
    return date(year, month, day)


CZ_FIXED = ((1, 1), (5, 1), (5, 8), (7, 5), (7, 6), (9, 28), (10, 28), (11, 17), (12, 24), (12, 25), (12, 26))


def czech_holidays(year: int) -> set[date]:
    """Czech public holidays (zákon č. 245/2000 Sb.): fixed days, Easter Monday, and Good Friday since 2016."""
    days = {date(year, m, d) for m, d in CZ_FIXED}
    easter = easter_sunday(year)
    days.add(easter + timedelta(days=1))
    if year >= 2016:
        days.add(easter - timedelta(days=2))
    return days


def public_holidays(country: str, year: int) -> set[date]:
    return czech_holidays(year) if (country or "").upper() == "CZ" else set()


@dataclass
class Calendar:
    """When a location works; :meth:`add` and :meth:`working_seconds` count only working time."""

    zone: ZoneInfo
    hours: dict[int, tuple[int, int]]  # weekday -> (opens, closes), minutes of the local day
    closed: frozenset[date] = frozenset()
    country: str = "CZ"
    _holidays: dict[int, set[date]] = field(default_factory=dict, repr=False)

    def is_closed_day(self, day: date) -> bool:
        if day.weekday() not in self.hours or day in self.closed:
            return True
        if day.year not in self._holidays:
            self._holidays[day.year] = public_holidays(self.country, day.year)
        return day in self._holidays[day.year]

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The local day's working interval in UTC, or None on a closed day."""
        if self.is_closed_day(day):
            return None
        opens, closes = self.hours[day.weekday()]
        begin, end = self._at(day, opens), self._at(day, closes)
        # hours inside a DST gap (e.g. 2:30–3:15 on the spring change) may come out empty: no work that day
        return (begin, end) if end > begin else None

    def _at(self, day: date, minutes: int) -> datetime:
        local = datetime.combine(day + timedelta(days=minutes // 1440), time(minutes % 1440 // 60, minutes % 60),
                                 tzinfo=self.zone)
        return local.astimezone(UTC)

    def _days_from(self, moment: datetime):  # noqa: ANN202
        # from the day before: a window closing at midnight ends exactly at the start of the next local day
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        for offset in range(MAX_DAYS):
            yield day + timedelta(days=offset)
        raise NoWorkingTime("no working time in the calendar")

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of working time after ``start`` (a closed ``start`` counts from the next opening)."""
        remaining = timedelta(seconds=seconds)
        for day in self._days_from(start):
            win = self.window(day)
            if win is None or win[1] < start:
                continue
            begin = max(win[0], start)
            available = win[1] - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise NoWorkingTime("no working time in the calendar")  # pragma: no cover (the generator raises)

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two moments (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        total = timedelta()
        for day in self._days_from(start):
            win = self.window(day)
            if win is not None:
                begin, finish = max(win[0], start), min(win[1], end)
                if finish > begin:
                    total += finish - begin
            if self._at(day, 1440) >= end:
                break
        return total.total_seconds()

    def is_working_time(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in a working interval (its closing moment included)."""
        day = moment.astimezone(self.zone).date()
        return any(win is not None and win[0] <= moment <= win[1]
                   for win in (self.window(day), self.window(day - timedelta(days=1))))


class AroundTheClock:
    """The 24/7 clock: the same interface as :class:`Calendar`, in plain elapsed time."""

    def add(self, start: datetime, seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    def working_seconds(self, start: datetime, end: datetime) -> float:
        return max((end - start).total_seconds(), 0.0)


ALWAYS = AroundTheClock()


def weekday_hours(session: Session) -> dict[int, tuple[int, int]]:
    """The location's hours per weekday as stored ({} when it has set none)."""
    return {row.weekday: (row.opens, row.closes) for row in session.scalars(select(BusinessHours))}


def closed_days(session: Session, *, since: date | None = None) -> list[ClosedDay]:
    stmt = select(ClosedDay).order_by(ClosedDay.day)
    if since is not None:
        stmt = stmt.where(ClosedDay.day >= since)
    return list(session.scalars(stmt))


def location_calendar(session: Session) -> Calendar:
    """The calendar of the scope's location (its time zone, hours, country's holidays and closed days)."""
    location = session.get(Location, current_scope().write_location_id)
    return Calendar(zone=clock.location_zone(location), hours=weekday_hours(session) or dict(DEFAULT_HOURS),
                    closed=frozenset(row.day for row in closed_days(session)), country=location.country or "CZ")


# --- saving -------------------------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_NOTE = 200


def parse_clock(value: object, field: str) -> int | None:
    """``"8:00"``/``"16:30"``/``"24:00"`` → minutes after midnight; empty → None."""
    text = str(value or "").strip()
    if not text:
        return None
    hours, sep, minutes = text.partition(":")
    if not (hours.isdigit() and (not sep or minutes.isdigit()) and len(hours) <= 2 and len(minutes) <= 2):
        raise InvalidValue(N_("Enter a time like 8:00."), field=field)
    total = int(hours) * 60 + (int(minutes) if sep else 0)
    if int(minutes or 0) > 59 or total > 1440:
        raise InvalidValue(N_("Enter a time like 8:00."), field=field)
    return total


def format_clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def save_hours(session: Session, values: dict[str, tuple[object, object]]) -> None:
    """Set the hours of each weekday (``{"mon": ("8:00", "16:00"), …}``; both empty: closed that day).

    Everything is checked first; a week without any working time is refused (nothing would ever be due).
    """
    wanted: dict[int, tuple[int, int]] = {}
    for weekday, key in enumerate(WEEKDAYS):
        opens_raw, closes_raw = values.get(key, ("", ""))
        opens, closes = parse_clock(opens_raw, f"{key}_opens"), parse_clock(closes_raw, f"{key}_closes")
        if opens is None and closes is None:
            continue
        if opens is None or closes is None or opens >= closes:
            raise InvalidValue(N_("Enter the opening and a later closing time, or neither (closed)."),
                               field=f"{key}_opens")
        wanted[weekday] = (opens, closes)
    if not wanted:
        raise InvalidValue(N_("At least one weekday must have working hours."), field="mon_opens")
    rows = {row.weekday: row for row in session.scalars(select(BusinessHours))}
    for weekday, row in rows.items():
        if weekday not in wanted:
            session.delete(row)
    for weekday, (opens, closes) in wanted.items():
        row = rows.get(weekday) or BusinessHours(weekday=weekday)
        row.opens, row.closes = opens, closes
        session.add(row)
    session.flush()


def add_closed_day(session: Session, day: object, note: object = "") -> ClosedDay:
    if not isinstance(day, date):
        try:
            day = date.fromisoformat(str(day or "").strip())
        except ValueError:
            raise InvalidValue(N_("Enter a date."), field="day") from None
    note = " ".join(str(note or "").split())
    if len(note) > MAX_NOTE:
        raise InvalidValue(N_("At most %(max)d characters."), field="note", max=MAX_NOTE)
    if session.scalar(select(ClosedDay.id).where(ClosedDay.day == day)) is not None:
        raise InvalidValue(N_("This day is already closed."), field="day")
    row = ClosedDay(day=day, note=note)
    session.add(row)
    session.flush()
    return row


def remove_closed_day(session: Session, closed_day_id: int) -> bool:
    row = session.scalar(select(ClosedDay).where(ClosedDay.id == closed_day_id))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def upcoming_holidays(country: str, today: date, count: int = 5) -> list[date]:
    """The next public holidays (shown on the settings page)."""
    days = sorted(d for year in (today.year, today.year + 1) for d in public_holidays(country, year) if d >= today)
    return days[:count]
