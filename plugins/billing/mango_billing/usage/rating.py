"""Rating of calls by a price list, with free minutes included in the tariff.

Rules, in the order they are applied to each call (calls are taken in chronological order, so the result
does not depend on the order they were given in):

1. A call that was not answered, or has no billable seconds, costs nothing and is listed in ``unanswered``.
2. The band is the band at the call's start; the destination row is the longest matching prefix for that
   band. A call with no matching row is listed in ``unrated`` (never silently dropped, never free).
3. Billable seconds are rounded up by the price list's rule (per-second, per-minute, 60+1, 30+10, …).
4. Free seconds are taken from the allowance (only for its destination groups) up to the rounded length;
   the rest is charged. The allowance counts rounded seconds, as the customer sees them on the statement,
   so free + charged = billed exactly.
5. Price = charged seconds × price per minute / 60, rounded once per call to 0.01 with ROUND_HALF_UP.
   A call with any charged seconds costs at least the price list's minimum charge.
6. Totals are sums of the already rounded per-call prices, so the statement adds up to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mango_billing.usage.cdr import CallRecord
from mango_billing.usage.pricelist import PriceList, RatingError

CENT = Decimal("0.01")


@dataclass(frozen=True)
class FreeAllowance:
    """Free seconds for one billing period; ``groups`` None = every destination group."""

    seconds: int
    groups: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int) or self.seconds < 0:
            raise RatingError(f"a free allowance must be whole seconds, 0 or more; got {self.seconds!r}")

    @classmethod
    def minutes(cls, minutes: int, groups: Iterable[str] | None = None) -> FreeAllowance:
        return cls(minutes * 60, frozenset(groups) if groups is not None else None)

    def applies_to(self, group: str) -> bool:
        return self.groups is None or group in self.groups


NO_ALLOWANCE = FreeAllowance(0)


@dataclass(frozen=True)
class RatedCall:
    call: CallRecord
    destination: str
    group: str
    band: str
    billed_seconds: int
    free_seconds: int
    price_per_minute: Decimal
    price: Decimal

    @property
    def charged_seconds(self) -> int:
        return self.billed_seconds - self.free_seconds


@dataclass(frozen=True)
class GroupTotal:
    group: str
    calls: int
    billed_seconds: int
    free_seconds: int
    price: Decimal


@dataclass(frozen=True)
class RatingResult:
    rated: tuple[RatedCall, ...]
    unrated: tuple[CallRecord, ...]
    unanswered: tuple[CallRecord, ...]
    totals: dict[str, GroupTotal]
    allowance_seconds: int
    currency: str

    @property
    def total_price(self) -> Decimal:
        return sum((r.price for r in self.rated), Decimal("0.00"))

    @property
    def free_seconds_used(self) -> int:
        return sum(r.free_seconds for r in self.rated)

    @property
    def free_seconds_left(self) -> int:
        return self.allowance_seconds - self.free_seconds_used


def call_price(charged_seconds: int, price_per_minute: Decimal, minimum_charge: Decimal) -> Decimal:
    """The documented per-call rounding point: 0.01 CZK, ROUND_HALF_UP, then the minimum charge."""
    if charged_seconds <= 0:
        return Decimal("0.00")
    price = (price_per_minute * charged_seconds / 60).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(price, minimum_charge.quantize(CENT, rounding=ROUND_HALF_UP))


def rate_calls(calls: Iterable[CallRecord], pricelist: PriceList,
               allowance: FreeAllowance | None = None) -> RatingResult:
    """Rate the calls of one billing period of one service; see the module docstring for the rules."""
    allowance = allowance or NO_ALLOWANCE
    ordered = sorted(calls, key=lambda c: (c.started_at, c.key))
    keys = [c.key for c in ordered]
    if len(set(keys)) != len(keys):
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        raise RatingError(f"the same call was given more than once (keys {', '.join(duplicates[:5])}); "
                          "rating it twice would bill it twice")
    remaining = allowance.seconds
    rated: list[RatedCall] = []
    unrated: list[CallRecord] = []
    unanswered: list[CallRecord] = []
    for call in ordered:
        if not call.billable:
            unanswered.append(call)
            continue
        band = pricelist.bands.band_at(call.started_at)
        row = pricelist.lookup(call.destination, band)
        if row is None:
            unrated.append(call)
            continue
        billed = pricelist.rounding.billed_seconds(call.billsec)
        free = min(billed, remaining) if allowance.applies_to(row.group) else 0
        remaining -= free
        price = call_price(billed - free, row.price_per_minute, pricelist.minimum_charge)
        rated.append(RatedCall(call, row.name, row.group, band, billed, free, row.price_per_minute, price))
    totals: dict[str, GroupTotal] = {}
    for r in rated:
        before = totals.get(r.group, GroupTotal(r.group, 0, 0, 0, Decimal("0.00")))
        totals[r.group] = GroupTotal(r.group, before.calls + 1, before.billed_seconds + r.billed_seconds,
                                     before.free_seconds + r.free_seconds, before.price + r.price)
    return RatingResult(tuple(rated), tuple(unrated), tuple(unanswered), totals, allowance.seconds,
                        pricelist.currency)
