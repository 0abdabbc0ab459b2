"""Rating from history: proration, blocks, price and tariff changes — pure functions, by hand and by hypothesis."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mango_billing.periods import (
    Change,
    PeriodError,
    ProductFacts,
    ServiceFacts,
    Terms,
    parse_period,
    plan_periods,
    rate_service,
    share,
    taxable_supply_date,
)

NET = ProductFacts(1, "Internet", Decimal("310.00"), Decimal("21"))
FAST = ProductFacts(2, "Internet Fast", Decimal("620.00"), Decimal("21"))
PRODUCTS = {1: NET, 2: FAST}
MARCH, APRIL = date(2025, 3, 1), date(2025, 4, 1)


def facts(**kw) -> ServiceFacts:
    values = {"service_id": 7, "customer_id": 3, "product_id": 1, "price": None, "activated_on": date(2024, 1, 1),
              "end_date": None, "terms": Terms()}
    return ServiceFacts(**{**values, **kw})


def amounts(lines) -> list[Decimal]:
    return [line.amount for line in lines]


def test_a_full_month_in_advance_costs_the_price():
    lines = rate_service(facts(), PRODUCTS, MARCH, APRIL)
    assert amounts(lines) == [Decimal("310.00")]
    assert (lines[0].period_from, lines[0].period_to, lines[0].days) == (MARCH, date(2025, 3, 31), 31)


def test_activation_mid_month_is_prorated_and_caught_up_next_month():
    # activated 15 March after the March run: March run bills 17 days, April catches nothing up twice
    lines = rate_service(facts(activated_on=date(2025, 3, 15)), PRODUCTS, MARCH, APRIL)
    assert amounts(lines) == [Decimal("170.00")]  # 310 × 17/31 = 170.00
    later = rate_service(facts(activated_on=date(2025, 3, 15)), PRODUCTS, APRIL, date(2025, 5, 1))
    assert amounts(later) == [Decimal("170.00"), Decimal("310.00")]  # nobody billed March yet: caught up
    billed = rate_service(facts(activated_on=date(2025, 3, 15), billed_until=APRIL), PRODUCTS, APRIL,
                          date(2025, 5, 1))
    assert amounts(billed) == [Decimal("310.00")]


def test_termination_ends_the_charge():
    lines = rate_service(facts(end_date=date(2025, 3, 11)), PRODUCTS, MARCH, APRIL)
    assert amounts(lines) == [Decimal("100.00")]  # 10 days of 31: 310 × 10/31
    assert lines[0].period_to == date(2025, 3, 10)
    assert rate_service(facts(end_date=MARCH), PRODUCTS, MARCH, APRIL) == []


@pytest.mark.parametrize(("rule", "expected"), [("bill", ["310.00"]), ("prorate", ["100.00", "110.00"]), ("skip", ["310.00"])])
def test_a_block_inside_the_month_by_rule(rule, expected):
    blocks = ((date(2025, 3, 11), date(2025, 3, 21)),)  # 10 blocked days
    lines = rate_service(facts(blocks=blocks, terms=Terms(blocked_rule=rule)), PRODUCTS, MARCH, APRIL)
    assert amounts(lines) == [Decimal(x) for x in expected]


def test_skip_does_not_bill_a_period_that_starts_blocked():
    blocks = ((date(2025, 2, 20), None),)
    assert rate_service(facts(blocks=blocks, terms=Terms(blocked_rule="skip")), PRODUCTS, MARCH, APRIL) == []
    assert rate_service(facts(blocks=blocks, terms=Terms(blocked_rule="prorate")), PRODUCTS, MARCH, APRIL) == []
    assert amounts(rate_service(facts(blocks=blocks), PRODUCTS, MARCH, APRIL)) == [Decimal("310.00")]


def test_tariff_change_on_the_15th_splits_the_month():
    change = Change(date(2025, 3, 15), "product", 1, 2, 1)
    lines = rate_service(facts(product_id=2, changes=(change,)), PRODUCTS, MARCH, APRIL)
    # 14 days of Internet (310 × 14/31 = 140.00), 17 days of Fast: 620 × 31/31 − 620 × 14/31 = 620 − 280 = 340
    assert amounts(lines) == [Decimal("140.00"), Decimal("340.00")]
    assert [line.product_id for line in lines] == [1, 2]


def test_price_change_inside_the_month():
    change = Change(date(2025, 3, 11), "price", None, Decimal("0.00"), 1)
    lines = rate_service(facts(price=Decimal("0.00"), changes=(change,)), PRODUCTS, MARCH, APRIL)
    assert amounts(lines) == [Decimal("100.00")]  # 10 days at the product's price, then free


def test_quarterly_in_advance_and_monthly_in_arrears():
    quarterly = Terms(months=3)
    assert amounts(rate_service(facts(terms=quarterly), PRODUCTS, APRIL, date(2025, 5, 1))) == [Decimal("930.00")]
    assert rate_service(facts(terms=quarterly), PRODUCTS, date(2025, 5, 1), date(2025, 6, 1)) == []
    arrears = rate_service(facts(terms=Terms(in_advance=False)), PRODUCTS, APRIL, date(2025, 5, 1))
    assert [(ln.period_from, ln.amount) for ln in arrears] == [(MARCH, Decimal("310.00"))]
    assert taxable_supply_date(APRIL, arrears) == date(2025, 3, 31)
    assert taxable_supply_date(MARCH, rate_service(facts(), PRODUCTS, MARCH, APRIL)) == MARCH


def test_one_off_plan_bills_once():
    terms = Terms(months=0)
    assert amounts(rate_service(facts(terms=terms, activated_on=date(2025, 3, 5)), PRODUCTS, MARCH, APRIL)) == [
        Decimal("310.00")]
    assert rate_service(facts(terms=terms, billed_until=MARCH), PRODUCTS, MARCH, APRIL) == []


def test_bad_periods_and_terms_are_clear_errors():
    for bad in ("2025-13", "25-03", "", "2025/03", "abcd-ef"):
        with pytest.raises(PeriodError):
            parse_period(bad)
    with pytest.raises(PeriodError):
        Terms(months=5)
    with pytest.raises(PeriodError):
        Terms(blocked_rule="maybe")
    assert parse_period("2025-12") == (date(2025, 12, 1), date(2026, 1, 1))


@given(price=st.decimals(min_value=0, max_value=100000, places=2), cuts=st.lists(st.integers(1, 365), max_size=6),
       months=st.sampled_from([1, 3, 6, 12]), start=st.dates(date(2001, 1, 1), date(2090, 1, 1)))
def test_splitting_a_period_anywhere_sums_to_the_full_price(price, cuts, months, start):
    ps, pe = plan_periods(start, start + timedelta(days=1), months)[0]
    days = (pe - ps).days
    points = sorted({0, days, *[c % days for c in cuts]})
    parts = [share(price, a, b, days) for a, b in zip(points, points[1:], strict=False)]
    assert sum(parts) == price
    for (a, b), part in zip(zip(points, points[1:], strict=False), parts, strict=True):
        assert abs(part - price * (b - a) / days) <= Decimal("0.01")


@given(activated=st.dates(date(2024, 1, 1), date(2025, 6, 1)), ended=st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2025, 6, 1))),
       rule=st.sampled_from(["bill", "skip", "prorate"]), since=st.dates(date(2025, 1, 1), date(2025, 4, 1)))
def test_days_never_exceed_the_billed_window(activated, ended, rule, since):
    f = facts(activated_on=activated, end_date=ended, terms=Terms(blocked_rule=rule),
              blocks=((since, since + timedelta(days=9)),))
    lines = rate_service(f, PRODUCTS, MARCH, APRIL)
    assert sum(line.days for line in lines) <= 31 + 28  # March plus at most one month caught up
    for line in lines:
        assert line.period_from >= max(activated, date(2025, 2, 1)) and line.period_to < APRIL
        assert Decimal(0) < line.amount <= Decimal("310.00")
