"""Prefix price lists for rating calls: destinations, time bands, rounding rules and Czech holidays.

A ``PriceList`` belongs to one product. Each row prices a dialled-number prefix (E.164 digits) per minute,
without VAT, optionally for one time band only. Lookup is longest-prefix: among rows whose prefix starts
the number and whose band is the call's band or empty, the longest prefix wins, and at an equal prefix a
row for the exact band beats a row for all bands. The band of a call is the band at its start.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PRAGUE = "Europe/Prague"
PEAK = "peak"
OFFPEAK = "offpeak"
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PRICE_PLACES = 4


class RatingError(ValueError):
    """A price list, band definition or rating input that cannot be used; the message says where."""


# --- Czech public holidays ----------------------------------------------------------------------------

def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian computus, valid for every Gregorian year)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def czech_public_holidays(year: int) -> frozenset[date]:
    """Days off by zákon č. 245/2000 Sb.: state holidays and other holidays (ostatní svátky).

    Good Friday is a holiday since 2016 (zákon č. 359/2015 Sb.); earlier years do not have it.
    """
    fixed = [(1, 1), (5, 1), (5, 8), (7, 5), (7, 6), (9, 28), (10, 28), (11, 17), (12, 24), (12, 25), (12, 26)]
    days = {date(year, month, day) for month, day in fixed}
    easter = easter_sunday(year)
    days.add(easter + timedelta(days=1))
    if year >= 2016:
        days.add(easter - timedelta(days=2))
    return frozenset(days)


# --- time bands ---------------------------------------------------------------------------------------

def _parse_clock(value: Any, where: str) -> time:
    if isinstance(value, time):
        return value
    text = str(value).strip()
    if text == "24:00":
        return time(0)
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise RatingError(f"{where}: expected a time HH:MM, got {value!r}") from exc


@dataclass(frozen=True)
class BandRule:
    """``band`` applies on ``weekdays`` (0 = Monday) within [start, end) ranges; end 00:00 means midnight."""

    band: str
    weekdays: frozenset[int]
    ranges: tuple[tuple[time, time], ...]

    def matches(self, moment: datetime) -> bool:
        if moment.weekday() not in self.weekdays:
            return False
        clock = moment.time().replace(tzinfo=None)
        return any(start <= clock and (end == time(0) or clock < end) for start, end in self.ranges)

    def to_dict(self) -> dict[str, Any]:
        return {"band": self.band, "weekdays": [WEEKDAY_NAMES[d] for d in sorted(self.weekdays)],
                "ranges": [[s.strftime("%H:%M"), "24:00" if e == time(0) else e.strftime("%H:%M")]
                           for s, e in self.ranges]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BandRule:
        try:
            band = str(data["band"]).strip()
            weekdays = frozenset(_weekday(d) for d in data["weekdays"])
            ranges = tuple((_parse_clock(s, f"band {band!r}"), _parse_clock(e, f"band {band!r}"))
                           for s, e in data["ranges"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, RatingError):
                raise
            raise RatingError(f"a band rule needs band, weekdays and ranges [[HH:MM, HH:MM], …]; got {data!r}") from exc
        if not band:
            raise RatingError("a band rule has an empty band name")
        for start, end in ranges:
            if end != time(0) and end <= start:
                raise RatingError(f"band {band!r}: range {start:%H:%M}–{end:%H:%M} ends before it starts")
        return cls(band, weekdays, ranges)


def _weekday(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    text = str(value).strip().lower()[:3]
    if text in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(text)
    raise RatingError(f"unknown weekday {value!r}; expected mon…sun or 0 (Monday)…6")


@dataclass(frozen=True)
class TimeBands:
    """Which band a moment falls in: the first matching rule, else ``default``.

    With ``holidays_as_default`` Czech public holidays are in the default band all day, like a Sunday.
    Moments are taken in ``timezone`` (the operator's local time) whatever zone the CDR carried.
    """

    rules: tuple[BandRule, ...] = ()
    default: str = OFFPEAK
    holidays_as_default: bool = True
    timezone: str = PRAGUE

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RatingError(f"unknown time zone {self.timezone!r}") from exc

    @classmethod
    def standard(cls) -> TimeBands:
        """Peak Monday–Friday 07:00–19:00, off-peak otherwise and on public holidays."""
        return cls((BandRule(PEAK, frozenset(range(5)), ((time(7), time(19)),)),))

    @classmethod
    def flat(cls, band: str = "all") -> TimeBands:
        return cls((), default=band, holidays_as_default=False)

    def band_at(self, moment: datetime) -> str:
        if moment.tzinfo is None:
            raise RatingError(f"time {moment.isoformat()} has no time zone; CDR times must be zone-aware")
        local = moment.astimezone(ZoneInfo(self.timezone))
        if self.holidays_as_default and local.date() in czech_public_holidays(local.year):
            return self.default
        for rule in self.rules:
            if rule.matches(local):
                return rule.band
        return self.default

    @property
    def names(self) -> frozenset[str]:
        return frozenset({self.default, *(r.band for r in self.rules)})

    def to_dict(self) -> dict[str, Any]:
        return {"rules": [r.to_dict() for r in self.rules], "default": self.default,
                "holidays_as_default": self.holidays_as_default, "timezone": self.timezone}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeBands:
        if not isinstance(data, Mapping):
            raise RatingError(f"time bands must be an object, got {type(data).__name__}")
        holidays = data.get("holidays_as_default", True)
        if not isinstance(holidays, bool):
            raise RatingError(f"'holidays_as_default' must be true or false, got {holidays!r}")
        return cls(tuple(BandRule.from_dict(r) for r in data.get("rules", [])),
                   default=str(data.get("default", OFFPEAK)), holidays_as_default=holidays,
                   timezone=str(data.get("timezone", PRAGUE)))


# --- rounding -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rounding:
    """Charging intervals: the first ``first`` seconds are charged whole, then steps of ``increment``.

    Per-second is 1+1, per-minute 60+60, "60+1" charges a full first minute then every second.
    """

    first: int
    increment: int

    def __post_init__(self) -> None:
        if self.first < 1 or self.increment < 1:
            raise RatingError(f"rounding intervals must be at least 1 second, got {self.first}+{self.increment}")

    @classmethod
    def parse(cls, text: str) -> Rounding:
        value = str(text).strip().lower()
        named = {"per-second": (1, 1), "per-minute": (60, 60)}
        if value in named:
            return cls(*named[value])
        for separator in ("+", "/"):
            if separator in value:
                first, _, increment = value.partition(separator)
                if first.strip().isdigit() and increment.strip().isdigit():
                    return cls(int(first), int(increment))
        raise RatingError(f"unknown rounding {text!r}; expected per-second, per-minute or FIRST+STEP like 60+1")

    def __str__(self) -> str:
        return {(1, 1): "per-second", (60, 60): "per-minute"}.get((self.first, self.increment),
                                                                    f"{self.first}+{self.increment}")

    def billed_seconds(self, seconds: int) -> int:
        if seconds <= 0:
            return 0
        if seconds <= self.first:
            return self.first
        steps = -(-(seconds - self.first) // self.increment)
        return self.first + steps * self.increment


# --- the price list -----------------------------------------------------------------------------------

def parse_price(value: Any, where: str) -> Decimal:
    """A price per minute without VAT: Decimal, at most 4 decimal places, not negative; '1,50' is accepted."""
    if isinstance(value, float | bool):
        raise RatingError(f"{where}: give the price as text or Decimal, not {type(value).__name__} ({value!r})")
    try:
        price = Decimal(str(value).strip().replace(",", ".").replace(" ", ""))
    except InvalidOperation as exc:
        raise RatingError(f"{where}: expected a price like 1.50, got {value!r}") from exc
    if not price.is_finite() or price < 0:
        raise RatingError(f"{where}: a price must be a finite amount of 0 or more, got {value!r}")
    if -price.as_tuple().exponent > MAX_PRICE_PLACES:  # type: ignore[operator]
        raise RatingError(f"{where}: at most {MAX_PRICE_PLACES} decimal places, got {value!r}")
    return price


@dataclass(frozen=True)
class PriceRow:
    """One destination: numbers starting with ``prefix`` cost ``price_per_minute`` (without VAT).

    ``group`` gathers destinations for totals and free allowances (e.g. "national"); it defaults to the
    destination name. ``band`` empty = the row applies in every band.
    """

    prefix: str
    name: str
    price_per_minute: Decimal
    band: str | None = None
    group: str = ""

    def __post_init__(self) -> None:
        if not self.prefix.isdigit():
            raise RatingError(f"prefix {self.prefix!r} ({self.name}): expected digits only (E.164 without '+')")
        if not self.name.strip():
            raise RatingError(f"prefix {self.prefix}: the destination name is empty")
        if not isinstance(self.price_per_minute, Decimal):
            object.__setattr__(self, "price_per_minute",
                               parse_price(self.price_per_minute, f"prefix {self.prefix}"))
        if not self.group:
            object.__setattr__(self, "group", self.name)
        if self.band is not None and not self.band.strip():
            object.__setattr__(self, "band", None)


@dataclass(frozen=True)
class PriceList:
    name: str
    rows: tuple[PriceRow, ...]
    rounding: Rounding = field(default_factory=lambda: Rounding(1, 1))
    minimum_charge: Decimal = Decimal("0")
    bands: TimeBands = field(default_factory=TimeBands.flat)
    currency: str = "CZK"

    def __post_init__(self) -> None:
        seen: set[tuple[str, str | None]] = set()
        for row in self.rows:
            if (row.prefix, row.band) in seen:
                raise RatingError(f"price list {self.name!r}: prefix {row.prefix} is priced twice for band "
                                  f"{row.band or '(all)'}")
            seen.add((row.prefix, row.band))
            if row.band is not None and row.band not in self.bands.names:
                raise RatingError(f"price list {self.name!r}: prefix {row.prefix} uses band {row.band!r}, "
                                  f"which the time bands do not define ({', '.join(sorted(self.bands.names))})")
        if not isinstance(self.minimum_charge, Decimal):
            object.__setattr__(self, "minimum_charge", parse_price(self.minimum_charge, "minimum charge"))
        index: dict[str, list[PriceRow]] = {}
        for row in self.rows:
            index.setdefault(row.prefix, []).append(row)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_longest", max((len(p) for p in index), default=0))

    def lookup(self, number: str, band: str) -> PriceRow | None:
        """The row that prices ``number`` in ``band``, or None when no prefix matches."""
        index: dict[str, list[PriceRow]] = self._index  # type: ignore[attr-defined]
        for length in range(min(len(number), self._longest), 0, -1):  # type: ignore[attr-defined]
            rows = index.get(number[:length])
            if not rows:
                continue
            exact = [r for r in rows if r.band == band]
            if exact:
                return exact[0]
            general = [r for r in rows if r.band is None]
            if general:
                return general[0]
        return None

    # --- plain dicts (JSON) and CSV ---

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "currency": self.currency, "rounding": str(self.rounding),
            "minimum_charge": str(self.minimum_charge), "bands": self.bands.to_dict(),
            "rows": [{"prefix": r.prefix, "name": r.name, "price_per_minute": str(r.price_per_minute),
                      "band": r.band, "group": r.group} for r in self.rows],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceList:
        if not isinstance(data, Mapping):
            raise RatingError(f"a price list must be an object, got {type(data).__name__}")
        rows = data.get("rows")
        if not isinstance(rows, list):
            raise RatingError("a price list needs 'rows': a list of {prefix, name, price_per_minute, band, group}")
        parsed = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, Mapping) or not {"prefix", "name", "price_per_minute"} <= set(row):
                raise RatingError(f"row {number}: expected an object with prefix, name and price_per_minute")
            parsed.append(PriceRow(str(row["prefix"]).strip(), str(row["name"]).strip(),
                                   parse_price(row["price_per_minute"], f"row {number} (prefix {row['prefix']})"),
                                   str(row["band"]) if row.get("band") else None, str(row.get("group") or "")))
        return cls(
            name=str(data.get("name", "")),
            rows=tuple(parsed),
            rounding=Rounding.parse(data.get("rounding", "per-second")),
            minimum_charge=parse_price(data.get("minimum_charge", "0"), "minimum charge"),
            bands=TimeBands.from_dict(data["bands"]) if "bands" in data else TimeBands.flat(),
            currency=str(data.get("currency", "CZK")),
        )

    @classmethod
    def from_csv(cls, data: str | bytes, *, name: str, rounding: Rounding | str = "per-second",
                 minimum_charge: Decimal | str = "0", bands: TimeBands | None = None,
                 encoding: str = "utf-8") -> PriceList:
        """Rows from ``prefix;name;price;band[;group]`` lines; a first line starting with "prefix" is a header.

        Every bad line is reported together in one ``RatingError``.
        """
        if isinstance(data, bytes):
            try:
                data = data.decode(encoding)
            except (UnicodeDecodeError, LookupError) as exc:
                raise RatingError(f"price list {name!r} cannot be read as {encoding}: {exc}") from exc
        rows: list[PriceRow] = []
        problems: list[str] = []
        reader = csv.reader(io.StringIO(data.lstrip("\ufeff"), newline=""), delimiter=";")
        try:
            for fields in reader:
                line = reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if line == 1 and fields[0].strip().lower() == "prefix":
                    continue
                if not 3 <= len(fields) <= 5:
                    problems.append(f"line {line}: expected prefix;name;price;band[;group], got {len(fields)} fields")
                    continue
                fields += [""] * (5 - len(fields))
                try:
                    rows.append(PriceRow(fields[0].strip().lstrip("+"), fields[1].strip(),
                                         parse_price(fields[2], f"line {line}"), fields[3].strip() or None,
                                         fields[4].strip()))
                except RatingError as exc:
                    problems.append(f"line {line}: {exc}" if not str(exc).startswith("line") else str(exc))
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: broken CSV quoting ({exc})")
        if problems:
            raise RatingError(f"price list {name!r} refused:\n  " + "\n  ".join(problems))
        return cls(name=name, rows=tuple(rows),
                   rounding=rounding if isinstance(rounding, Rounding) else Rounding.parse(rounding),
                   minimum_charge=parse_price(minimum_charge, "minimum charge"),
                   bands=bands or TimeBands.flat())

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(["prefix", "name", "price", "band", "group"])
        for r in self.rows:
            writer.writerow([r.prefix, r.name, str(r.price_per_minute), r.band or "", r.group])
        return out.getvalue()


def rows_from(items: Iterable[tuple[str, str, str]], band: str | None = None) -> tuple[PriceRow, ...]:
    """Convenience for code and tests: (prefix, name, price) triples as rows of one band."""
    return tuple(PriceRow(p, n, parse_price(c, f"prefix {p}"), band) for p, n, c in items)
