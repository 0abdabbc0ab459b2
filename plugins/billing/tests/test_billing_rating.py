"""Rating of calls: prefixes, bands, Czech holidays, rounding rules, minimum charge, free allowance."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mango_billing.usage.cdr import CallRecord
from mango_billing.usage.pricelist import (
    OFFPEAK,
    PEAK,
    PriceList,
    PriceRow,
    RatingError,
    Rounding,
    TimeBands,
    czech_public_holidays,
    easter_sunday,
)
from mango_billing.usage.rating import FreeAllowance, call_price, rate_calls

PRAGUE = ZoneInfo("Europe/Prague")
MONDAY_10 = datetime(2024, 3, 4, 10, 0, tzinfo=PRAGUE)


def call(destination: str = "420212345678", billsec: int = 60, start: datetime = MONDAY_10,
         disposition: str = "ANSWERED", key: str | None = None) -> CallRecord:
    return CallRecord(key=key or f"k-{destination}-{start.isoformat()}-{billsec}", source="420602000000",
                      destination=destination, started_at=start, answered_at=start, duration_s=billsec + 5,
                      billsec=billsec, disposition=disposition, account="100", raw="")


def flat(price: str = "1.20", rounding: str = "per-second", minimum: str = "0") -> PriceList:
    return PriceList("flat", (PriceRow("420", "Česko", Decimal(price), group="national"),),
                     rounding=Rounding.parse(rounding), minimum_charge=Decimal(minimum))


def price_of(seconds: int, pricelist: PriceList) -> Decimal:
    return rate_calls([call(billsec=seconds)], pricelist).rated[0].price


# --- rounding rules, hand-computed ------------------------------------------------------------------

@pytest.mark.parametrize(("rounding", "seconds", "billed", "price"), [
    ("per-second", 90, 90, "1.80"),      # 90 × 1.20 / 60
    ("per-second", 1, 1, "0.02"),        # 0.02 exactly
    ("per-minute", 61, 120, "2.40"),     # two started minutes
    ("per-minute", 60, 60, "1.20"),
    ("60+1", 30, 60, "1.20"),            # whole first minute
    ("60+1", 61, 61, "1.22"),            # 61 × 0.02
    ("30+10", 31, 40, "0.80"),           # 30 + one 10 s step
    ("30+10", 45, 50, "1.00"),
    ("30+10", 30, 30, "0.60"),
])
def test_rounding_rules(rounding, seconds, billed, price):
    pricelist = flat(rounding=rounding)
    rated = rate_calls([call(billsec=seconds)], pricelist).rated[0]
    assert rated.billed_seconds == billed
    assert rated.price == Decimal(price)


def test_per_call_rounding_is_half_up_to_the_cent():
    assert price_of(1, flat("0.30")) == Decimal("0.01")   # 0.005 → 0.01 (banker's rounding would give 0.00)
    assert price_of(15, flat("0.33")) == Decimal("0.08")  # 0.0825 → 0.08
    assert price_of(1, flat("0.25")) == Decimal("0.00")   # 0.00416 → 0.00


def test_minimum_charge_applies_to_charged_calls_only():
    pricelist = flat(minimum="0.50")
    assert price_of(10, pricelist) == Decimal("0.50")   # 0.20 would be less than the minimum
    assert price_of(90, pricelist) == Decimal("1.80")
    free = rate_calls([call(billsec=10)], pricelist, FreeAllowance(600)).rated[0]
    assert free.price == Decimal("0.00")


def test_rounding_parse_errors():
    with pytest.raises(RatingError, match="unknown rounding"):
        Rounding.parse("sometimes")
    with pytest.raises(RatingError, match="at least 1 second"):
        Rounding.parse("0+1")
    assert str(Rounding.parse("60/60")) == "per-minute"


# --- prefixes -------------------------------------------------------------------------------------------

def banded() -> PriceList:
    return PriceList("banded", (
        PriceRow("420", "Česko pevná", Decimal("0.80"), PEAK, "national"),
        PriceRow("420", "Česko pevná", Decimal("0.40"), OFFPEAK, "national"),
        PriceRow("4206", "Česko mobil", Decimal("1.50"), None, "national"),
        PriceRow("42060", "Česko mobil T", Decimal("1.00"), OFFPEAK, "national"),
        PriceRow("44", "Velká Británie", Decimal("3.00"), None, "international"),
    ), bands=TimeBands.standard())


@pytest.mark.parametrize(("number", "start", "name", "price"), [
    ("420212345678", MONDAY_10, "Česko pevná", "0.80"),
    ("420212345678", MONDAY_10.replace(hour=20), "Česko pevná", "0.40"),
    ("420602123456", MONDAY_10, "Česko mobil", "1.50"),               # 42060 has only an off-peak row
    ("420602123456", MONDAY_10.replace(hour=20), "Česko mobil T", "1.00"),  # longest prefix, exact band
    ("420702123456", MONDAY_10.replace(hour=20), "Česko pevná", "0.40"),    # 4207 is not under 4206
    ("442079460958", MONDAY_10, "Velká Británie", "3.00"),
])
def test_longest_prefix_with_band(number, start, name, price):
    result = rate_calls([call(number, 60, start)], banded())
    assert (result.rated[0].destination, result.rated[0].price) == (name, Decimal(price))


def test_unrated_and_unanswered_are_reported_not_dropped():
    calls = [call("420212345678"), call("8613800000000", key="china"),
             call("420212345678", 0, disposition="NO ANSWER", key="missed"),
             call("s", 40, key="internal")]
    result = rate_calls(calls, banded())
    assert [c.key for c in result.unrated] == ["china", "internal"]
    assert [c.key for c in result.unanswered] == ["missed"]
    assert len(result.rated) == 1
    assert result.total_price == Decimal("0.80")


def test_the_same_call_twice_is_refused():
    with pytest.raises(RatingError, match="bill it twice"):
        rate_calls([call(key="a"), call(key="a")], banded())


# --- time bands and holidays ---------------------------------------------------------------------------

@pytest.mark.parametrize(("moment", "band"), [
    (datetime(2024, 3, 4, 7, 0), PEAK),
    (datetime(2024, 3, 4, 6, 59, 59), OFFPEAK),
    (datetime(2024, 3, 4, 18, 59, 59), PEAK),
    (datetime(2024, 3, 4, 19, 0), OFFPEAK),        # the range end is exclusive
    (datetime(2024, 3, 9, 10, 0), OFFPEAK),        # Saturday
    (datetime(2024, 5, 8, 10, 0), OFFPEAK),        # Den vítězství, a Wednesday
    (datetime(2024, 3, 29, 10, 0), OFFPEAK),       # Good Friday 2024
    (datetime(2024, 4, 1, 10, 0), OFFPEAK),        # Easter Monday 2024
    (datetime(2024, 12, 24, 10, 0), OFFPEAK),      # Štědrý den, a Tuesday
    (datetime(2015, 4, 3, 10, 0), PEAK),           # Good Friday 2015: not yet a holiday
])
def test_standard_bands(moment, band):
    assert TimeBands.standard().band_at(moment.replace(tzinfo=PRAGUE)) == band


def test_holidays_flag_off_keeps_weekday_band():
    bands = TimeBands(TimeBands.standard().rules, holidays_as_default=False)
    assert bands.band_at(datetime(2024, 3, 29, 10, 0, tzinfo=PRAGUE)) == PEAK


def test_band_is_taken_in_prague_time_whatever_the_cdr_zone():
    utc = datetime(2024, 3, 4, 6, 30, tzinfo=ZoneInfo("UTC"))  # 07:30 in Prague
    assert TimeBands.standard().band_at(utc) == PEAK


def test_band_at_start_decides_for_the_whole_call():
    start = datetime(2024, 3, 4, 18, 59, tzinfo=PRAGUE)
    rated = rate_calls([call("420212345678", 600, start)], banded()).rated[0]
    assert rated.band == PEAK and rated.price == Decimal("8.00")


def test_naive_times_are_refused():
    with pytest.raises(RatingError, match="no time zone"):
        TimeBands.standard().band_at(datetime(2024, 3, 4, 10))


@pytest.mark.parametrize(("year", "easter"), [(2000, date(2000, 4, 23)), (2019, date(2019, 4, 21)),
                                              (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                              (2038, date(2038, 4, 25))])
def test_easter(year, easter):
    assert easter_sunday(year) == easter


def test_czech_holidays_2025():
    days = czech_public_holidays(2025)
    assert len(days) == 13
    assert {date(2025, 4, 18), date(2025, 4, 21), date(2025, 9, 28), date(2025, 11, 17)} <= days
    assert len(czech_public_holidays(2015)) == 12


def test_custom_band_rules_from_dict():
    bands = TimeBands.from_dict({"default": "night", "rules": [
        {"band": "day", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
         "ranges": [["06:00", "22:00"]]}]})
    assert bands.band_at(datetime(2024, 3, 9, 12, tzinfo=PRAGUE)) == "day"
    assert bands.band_at(datetime(2024, 3, 9, 23, tzinfo=PRAGUE)) == "night"
    assert TimeBands.from_dict(bands.to_dict()) == bands


@pytest.mark.parametrize(("data", "fragment"), [
    ({"rules": [{"band": "x", "weekdays": ["funday"], "ranges": []}]}, "unknown weekday"),
    ({"rules": [{"band": "x", "weekdays": ["mon"], "ranges": [["19:00", "07:00"]]}]}, "ends before"),
    ({"rules": [{"band": "x", "weekdays": ["mon"], "ranges": [["7", "19:00"]]}]}, "HH:MM"),
    ({"rules": [{"weekdays": ["mon"]}]}, "needs band"),
    ({"holidays_as_default": "yes"}, "true or false"),
])
def test_bad_band_definitions(data, fragment):
    with pytest.raises(RatingError, match=fragment):
        TimeBands.from_dict(data)


# --- free allowance -------------------------------------------------------------------------------------

def test_allowance_is_consumed_chronologically_and_split_exactly():
    start = MONDAY_10
    calls = [
        call("420212345678", 70, start + timedelta(minutes=10), key="second"),
        call("420212345678", 60, start, key="first"),
        call("442079460958", 60, start + timedelta(minutes=5), key="abroad"),
    ]
    result = rate_calls(calls, banded(), FreeAllowance(100, frozenset({"national"})))
    by_key = {r.call.key: r for r in result.rated}
    assert (by_key["first"].free_seconds, by_key["first"].price) == (60, Decimal("0.00"))
    # 40 s left: 40 free, 30 charged at 0.80/min = 0.40
    assert (by_key["second"].free_seconds, by_key["second"].charged_seconds) == (40, 30)
    assert by_key["second"].price == Decimal("0.40")
    # Abroad is outside the allowance's groups.
    assert (by_key["abroad"].free_seconds, by_key["abroad"].price) == (0, Decimal("3.00"))
    assert result.free_seconds_used == 100 and result.free_seconds_left == 0
    assert result.totals["national"].price == Decimal("0.40")
    assert result.totals["international"].calls == 1
    assert result.total_price == Decimal("3.40")


def test_allowance_counts_rounded_seconds():
    pricelist = flat(rounding="per-minute")
    result = rate_calls([call(billsec=61)], pricelist, FreeAllowance.minutes(1))
    rated = result.rated[0]
    assert (rated.billed_seconds, rated.free_seconds, rated.charged_seconds) == (120, 60, 60)
    assert rated.price == Decimal("1.20")


def test_negative_allowance_is_refused():
    with pytest.raises(RatingError):
        FreeAllowance(-1)


# --- loading and saving ---------------------------------------------------------------------------------

def test_pricelist_round_trips_through_json():
    pricelist = PriceList("VoIP Standard", banded().rows, rounding=Rounding(60, 1), minimum_charge=Decimal("0.50"),
                          bands=TimeBands.standard())
    again = PriceList.from_dict(json.loads(json.dumps(pricelist.to_dict())))
    assert again == pricelist
    assert again.lookup("420602123456", PEAK).price_per_minute == Decimal("1.50")


def test_pricelist_from_csv():
    text = "prefix;name;price;band;group\n420;Česko;0,80;peak;national\n420;Česko;0,40;offpeak;national\n+44;UK;3;;\n"
    pricelist = PriceList.from_csv(text.encode(), name="csv", rounding="60+1", bands=TimeBands.standard())
    assert len(pricelist.rows) == 3
    assert pricelist.lookup("442079460958", OFFPEAK).group == "UK"
    assert pricelist.rounding == Rounding(60, 1)
    assert PriceList.from_csv(pricelist.to_csv(), name="csv", rounding="60+1",
                              bands=TimeBands.standard()).rows == pricelist.rows


def test_bad_csv_lists_every_bad_line():
    text = "420;Česko;abc;\n4x;Bad;1;\n44;UK\n421;SK;-1;\n422;X;1.23456;\n"
    with pytest.raises(RatingError) as info:
        PriceList.from_csv(text, name="bad")
    message = str(info.value)
    for line in ("line 1", "line 2", "line 3", "line 4", "line 5"):
        assert line in message


@pytest.mark.parametrize(("rows", "fragment"), [
    ([{"prefix": "420", "name": "CZ", "price_per_minute": 1.5}], "not float"),
    ([{"prefix": "420", "name": "CZ"}], "prefix, name and price_per_minute"),
    ([{"prefix": "420", "name": "CZ", "price_per_minute": "1", "band": "night"}], "do not define"),
    ([{"prefix": "420", "name": "CZ", "price_per_minute": "1"}] * 2, "priced twice"),
])
def test_bad_pricelist_dicts(rows, fragment):
    with pytest.raises(RatingError, match=fragment):
        PriceList.from_dict({"name": "x", "rows": rows, "bands": TimeBands.standard().to_dict()})


# --- properties -----------------------------------------------------------------------------------------

DESTINATIONS = ["420212345678", "420602123456", "420602000000", "442079460958", "8613800000000", "s"]


@st.composite
def pricelists(draw) -> PriceList:
    price = st.decimals(min_value=0, max_value=20, places=2, allow_nan=False, allow_infinity=False)
    rows = (PriceRow("420", "CZ", draw(price), PEAK, "national"),
            PriceRow("420", "CZ", draw(price), OFFPEAK, "national"),
            PriceRow("4206", "CZ mobil", draw(price), None, "national"),
            PriceRow("44", "UK", draw(price), None, "international"))
    rounding = Rounding(draw(st.integers(1, 120)), draw(st.integers(1, 60)))
    return PriceList("p", rows, rounding=rounding, minimum_charge=draw(price), bands=TimeBands.standard())


@st.composite
def call_lists(draw) -> list[CallRecord]:
    count = draw(st.integers(0, 25))
    calls = []
    for n in range(count):
        offset = draw(st.integers(0, 31 * 24 * 3600))
        start = (datetime(2024, 3, 1, tzinfo=ZoneInfo("UTC")) + timedelta(seconds=offset)).astimezone(PRAGUE)
        calls.append(call(draw(st.sampled_from(DESTINATIONS)), draw(st.integers(0, 4000)), start,
                          draw(st.sampled_from(["ANSWERED", "ANSWERED", "NO ANSWER", "BUSY"])), key=f"c{n}"))
    return calls


allowances = st.builds(FreeAllowance, st.integers(0, 20000),
                       st.sampled_from([None, frozenset({"national"}), frozenset({"international"})]))


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["name", "rows", "prefix", "price_per_minute", "band", "bands", "rules",
                                         "weekdays", "ranges", "rounding", "minimum_charge", "group"]),
                        inner, max_size=5), max_leaves=20))
def test_garbage_pricelist_dicts_raise_only_rating_error(data):
    try:
        PriceList.from_dict(data)
    except RatingError:
        pass


@settings(max_examples=150, deadline=None)
@given(call_lists(), pricelists(), allowances)
def test_prices_never_negative_and_allowance_never_exceeded(calls, pricelist, allowance):
    result = rate_calls(calls, pricelist, allowance)
    assert all(r.price >= 0 for r in result.rated)
    assert result.total_price >= 0
    assert 0 <= result.free_seconds_used <= allowance.seconds
    assert len(result.rated) + len(result.unrated) + len(result.unanswered) == len(calls)
    assert sum(t.price for t in result.totals.values()) == result.total_price


@settings(max_examples=150, deadline=None)
@given(call_lists(), pricelists(), allowances, st.randoms(use_true_random=False))
def test_rating_does_not_depend_on_input_order(calls, pricelist, allowance, rnd: random.Random):
    shuffled = list(calls)
    rnd.shuffle(shuffled)
    assert rate_calls(shuffled, pricelist, allowance) == rate_calls(calls, pricelist, allowance)


@settings(max_examples=150, deadline=None)
@given(call_lists(), pricelists(), allowances)
def test_split_at_the_allowance_boundary_is_exact(calls, pricelist, allowance):
    result = rate_calls(calls, pricelist, allowance)
    eligible = [r for r in result.rated if allowance.applies_to(r.group)]
    # Free seconds are exactly what the allowance can cover, taken in time order.
    assert result.free_seconds_used == min(allowance.seconds, sum(r.billed_seconds for r in eligible))
    seen_charged = False
    for r in eligible:
        assert r.free_seconds + r.charged_seconds == r.billed_seconds
        assert not (seen_charged and r.free_seconds), "free seconds after the allowance ran out"
        seen_charged = seen_charged or r.charged_seconds > 0
        assert r.price == call_price(r.charged_seconds, r.price_per_minute, pricelist.minimum_charge)
