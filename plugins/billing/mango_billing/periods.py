"""Rating a service for a billing run from its history — pure functions, no database.

The run of month M (``run_start`` = the 1st of M) bills, per service:

* a plan **in advance**: the plan period that starts in M (monthly: M itself; quarterly, half-year
  and yearly plans are calendar-aligned: quarters start in January, April, July and October,
  half-years in January and July, years in January — in other months they are not billed);
* a plan **in arrears**: the plan period that ends when M starts (monthly: the month before M);
* **catch-up**: days before that window which no invoice covered yet (a service activated after
  the run of its month) — at most one plan period back; a service active since before that and
  never billed by Mango starts at the window (a first run never bills the past).

Within each plan period [ps, pe) of D days the service is charged for its days from activation
(``activated_on``) to termination (``end_date``, the first day without the service). The price is
the monthly price × the plan's months (the service's own ``price``, else its product's), taken from
the service's **history**: price and product changes carry (before → after) with an effective date;
the state on a day is the current one with every change effective after that day undone.

Blocked days follow the plan's ``blocked_rule``:

* ``bill`` — blocked days cost as any other;
* ``prorate`` — blocked days cost nothing;
* ``skip`` — a plan period whose first charged day is blocked is not billed at all (the run skips
  blocked services); a block starting later in the period does not reduce it.

A block still open (``until`` None) is presumed to last; a termination not applied yet is not known:
corrections are credit notes.

**Proration and rounding** (the one rule): the days [a, b) of a period of D days with price P cost
``round(P·b/D) − round(P·a/D)``, offsets counted from the period's start, each ``round`` to 0.01
ROUND_HALF_UP. Every line is thus within 0.01 of its exact share P·(b−a)/D, and the lines of one
period always add up to exactly P when the whole period is charged, wherever it was split. With
the plan's ``prorate`` off a part period costs the full P.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class PeriodError(ValueError):
    """A billing period, plan or service fact that cannot be rated (with what was expected)."""


def money(value: Decimal) -> Decimal:
    """Round to 0.01 with ROUND_HALF_UP."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_period(text: str) -> tuple[date, date]:
    """``"2025-03"`` → (2025-03-01, 2025-04-01); a clear :class:`PeriodError` otherwise."""
    raw = (text or "").strip()
    parts = raw.split("-")
    if len(parts) != 2 or not (parts[0].isdigit() and parts[1].isdigit()) or len(parts[0]) != 4:
        raise PeriodError(f"the period {raw!r} is not a month written as YYYY-MM (e.g. 2025-03)")
    year, month = int(parts[0]), int(parts[1])
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise PeriodError(f"the period {raw!r} is not a month between 2000-01 and 2100-12")
    start = date(year, month, 1)
    return start, add_months(start, 1)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the day is clamped to the month's length)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_start(day: date) -> date:
    return day.replace(day=1)


# --- facts (what the run loads; plain data) ---------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """The billing terms that apply to a service (its plan, possibly the default one)."""

    months: int = 1  # 0 = one-off
    in_advance: bool = True
    prorate: bool = True
    blocked_rule: str = "bill"
    due_days: int = 14
    billing_day: int = 1
    payment_method: str = "bank_transfer"
    plan_id: int | None = None
    plan_code: str = "DEFAULT"

    def __post_init__(self) -> None:
        if self.months not in (0, 1, 2, 3, 4, 6, 12):
            raise PeriodError(f"a plan period of {self.months} months is not one of 0, 1, 2, 3, 4, 6, 12")
        if self.blocked_rule not in ("bill", "skip", "prorate"):
            raise PeriodError(f"the blocked rule {self.blocked_rule!r} is not bill, skip or prorate")


@dataclass(frozen=True)
class ProductFacts:
    id: int
    name: str
    price: Decimal  # monthly, without VAT
    vat_rate: Decimal


@dataclass(frozen=True)
class Change:
    """One field change from the history: ``field`` is ``price`` (Decimal|None) or ``product`` (id|None)."""

    effective: date
    field: str
    before: object
    after: object
    seq: int = 0  # order of recording, for changes on the same day


@dataclass(frozen=True)
class ServiceFacts:
    service_id: int
    customer_id: int
    product_id: int
    price: Decimal | None  # the service's own monthly price; None = the product's
    activated_on: date | None
    end_date: date | None
    terms: Terms
    blocks: tuple[tuple[date, date | None], ...] = ()
    changes: tuple[Change, ...] = ()
    billed_until: date | None = None  # first day not covered by an earlier invoice line
    label: str = ""  # e.g. the child customer's name when billed to a parent


@dataclass(frozen=True)
class RatedLine:
    """A priced line of the future invoice (base without VAT, rounded)."""

    kind: str  # recurring / one_off / discount / usage
    description: str
    amount: Decimal
    vat_rate: Decimal
    customer_id: int
    service_id: int | None = None
    product_id: int | None = None
    period_from: date | None = None
    period_to: date | None = None  # inclusive (as printed)
    days: int = 0
    period_days: int = 0
    quantity: Decimal = Decimal("1")
    unit: str = ""
    in_advance: bool = True
    charge_id: int | None = None
    usage_ids: tuple[int, ...] = field(default_factory=tuple)


# --- windows and periods --------------------------------------------------------------------------


def aligned(day: date, months: int) -> bool:
    """Does a calendar-aligned plan period of ``months`` start on the month of ``day``?"""
    return months > 0 and (day.month - 1) % months == 0


def window(run_start: date, terms: Terms) -> tuple[date, date] | None:
    """The plan period the run of ``run_start``'s month bills, or None when it bills none."""
    if terms.months == 0 or not aligned(run_start, terms.months):
        return None
    if terms.in_advance:
        return run_start, add_months(run_start, terms.months)
    return add_months(run_start, -terms.months), run_start


def plan_periods(start: date, end: date, months: int) -> list[tuple[date, date]]:
    """Calendar-aligned plan periods [ps, pe) that overlap [start, end)."""
    if months <= 0:
        raise PeriodError("a recurring plan period has at least one month")
    first = month_start(start)
    first = add_months(first, -((first.month - 1) % months))
    periods = []
    ps = first
    while ps < end:
        pe = add_months(ps, months)
        if pe > start:
            periods.append((ps, pe))
        ps = pe
    return periods


def share(price: Decimal, a: int, b: int, days: int) -> Decimal:
    """The cost of days [a, b) of a period of ``days`` days (see the module's rounding rule)."""
    if not (0 <= a <= b <= days) or days <= 0:
        raise PeriodError(f"days {a}–{b} are not inside a period of {days} days")
    return money(price * b / days) - money(price * a / days)


def _state(facts: ServiceFacts, day: date) -> tuple[int | None, Decimal | None]:
    """(product id, own price) on ``day``: the current values with later changes undone."""
    product, price = facts.product_id, facts.price
    for change in sorted(facts.changes, key=lambda c: (c.effective, c.seq), reverse=True):
        if change.effective <= day:
            break
        if change.field == "price":
            price = change.before  # type: ignore[assignment]
        elif change.field == "product":
            product = change.before  # type: ignore[assignment]
    return product, price


def _blocked(facts: ServiceFacts, day: date) -> bool:
    return any(since <= day and (until is None or day < until) for since, until in facts.blocks)


def _fmt(day: date) -> str:
    return f"{day.day}. {day.month}. {day.year}"


def rate_service(facts: ServiceFacts, products: dict[int, ProductFacts], run_start: date,
                 run_end: date) -> list[RatedLine]:
    """The recurring lines of one service in the run of [run_start, run_end)."""
    terms = facts.terms
    if facts.activated_on is None:
        return []
    if terms.months == 0:
        return _one_off(facts, products, run_end)
    win = window(run_start, terms)
    if win is None:
        return []
    earliest = add_months(win[0], -terms.months)
    if facts.billed_until is not None:
        start = max(facts.activated_on, facts.billed_until, earliest)
    elif facts.activated_on >= earliest:
        start = facts.activated_on  # activated recently and never billed: from its first day
    else:
        start = win[0]  # billed before Mango (or by a run that is gone): from the window on
    end = win[1] if facts.end_date is None else min(win[1], facts.end_date)
    if start >= end:
        return []
    lines: list[RatedLine] = []
    for ps, pe in plan_periods(start, end, terms.months):
        lines.extend(_rate_period(facts, products, ps, pe, max(start, ps), min(end, pe)))
    return lines


def _one_off(facts: ServiceFacts, products: dict[int, ProductFacts], run_end: date) -> list[RatedLine]:
    """A one-off plan: billed once, in full, by the first run after activation."""
    activated = facts.activated_on
    if facts.billed_until is not None or activated is None or activated >= run_end:
        return []
    product_id, price = _state(facts, activated)
    product = products.get(product_id) if product_id is not None else None
    if product is None:
        return []
    amount = money(product.price if price is None else price)
    if amount == 0:
        return []
    return [RatedLine(kind="recurring", description=_label(facts, product.name), amount=amount,
                      vat_rate=product.vat_rate, customer_id=facts.customer_id, service_id=facts.service_id,
                      product_id=product.id, period_from=activated, period_to=activated, days=1, period_days=1,
                      unit="ks", in_advance=True)]


def _label(facts: ServiceFacts, text: str) -> str:
    return f"{facts.label}: {text}" if facts.label else text


def _rate_period(facts: ServiceFacts, products: dict[int, ProductFacts], ps: date, pe: date, a: date,
                 b: date) -> list[RatedLine]:
    """Lines for the charged days [a, b) of the plan period [ps, pe)."""
    terms = facts.terms
    total_days = (pe - ps).days
    points = {a, b}
    for change in facts.changes:
        if a < change.effective < b:
            points.add(change.effective)
    for since, until in facts.blocks:
        for day in (since, until):
            if day is not None and a < day < b:
                points.add(day)
    cuts = sorted(points)
    skip_all = terms.blocked_rule == "skip" and _blocked(facts, a)
    if skip_all:
        return []
    # charged intervals with their (product, price); consecutive equal ones merge into one line
    segments: list[list] = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        if terms.blocked_rule == "prorate" and _blocked(facts, lo):
            continue
        product_id, price = _state(facts, lo)
        if product_id is None or product_id not in products:
            continue
        key = (product_id, price)
        if segments and segments[-1][0] == key and segments[-1][2] == lo:
            segments[-1][2] = hi
        else:
            segments.append([key, lo, hi])
    lines = []
    whole = a == ps and b == pe
    for (product_id, own_price), lo, hi in segments:
        product = products[product_id]
        monthly = product.price if own_price is None else own_price
        period_price = monthly * terms.months
        days = (hi - lo).days
        full = (lo == ps and hi == pe) or not terms.prorate
        if full:
            amount = money(period_price)
        else:
            amount = share(period_price, (lo - ps).days, (hi - ps).days, total_days)
        if amount == 0:
            continue
        last = hi - timedelta(days=1)
        text = f"{product.name} {_fmt(lo)} – {_fmt(last)}"
        if not full:
            text += f" ({days}/{total_days} dní)"
        lines.append(RatedLine(kind="recurring", description=_label(facts, text), amount=amount,
                               vat_rate=product.vat_rate, customer_id=facts.customer_id,
                               service_id=facts.service_id, product_id=product.id, period_from=lo, period_to=last,
                               days=days, period_days=total_days, unit="období" if whole else "dny",
                               in_advance=terms.in_advance))
        if not terms.prorate:
            break  # a part period without proration is one full price, whatever changed inside
    return lines


def charged_days(lines: Iterable[RatedLine]) -> int:
    return sum(line.days for line in lines)


def taxable_supply_date(run_start: date, lines: Sequence[RatedLine]) -> date:
    """DUZP of an invoice (our documented rule).

    A supply billed in advance is taxable on the first day of the billed period (the run's month
    start); one billed in arrears (and one-off charges and usage, which are past supplies) on the
    last day of the month before the run. An invoice holding any in-advance recurring line takes
    the in-advance date.
    """
    if any(line.kind == "recurring" and line.in_advance for line in lines):
        return run_start
    return run_start - timedelta(days=1)
