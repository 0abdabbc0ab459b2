"""Money stays exact on SQLite and PostgreSQL, through storage and SUM."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select
from sqlalchemy.exc import StatementError

from mango_core.db.types import InexactMoneyError, Money

amounts = st.decimals(min_value=Decimal("-9999999999.99"), max_value=Decimal("9999999999.99"), places=2,
                      allow_nan=False, allow_infinity=False)


@pytest.fixture
def money_table(db):
    meta = MetaData()
    table = Table("test_money", meta, Column("id", Integer, primary_key=True), Column("amount", Money()),
                  Column("rate", Money(scale=4)), prefixes=["TEMPORARY"])
    conn = db.connection()
    meta.create_all(conn)
    yield conn, table
    meta.drop_all(conn)


# The test empties the table itself, so the shared fixture is safe across examples.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(amounts, min_size=1, max_size=20))
def test_round_trip_and_sum_are_exact(money_table, values):
    conn, table = money_table
    conn.execute(table.delete())
    conn.execute(insert(table), [{"amount": v} for v in values])
    stored = conn.execute(select(table.c.amount).order_by(table.c.id)).scalars().all()
    assert stored == values
    assert all(isinstance(v, Decimal) for v in stored)
    assert conn.execute(select(func.sum(table.c.amount))).scalar_one() == sum(values)


def test_classic_float_trap_is_exact(money_table):
    conn, table = money_table
    conn.execute(insert(table), [{"amount": Decimal("0.10")}] * 3)
    assert conn.execute(select(func.sum(table.c.amount))).scalar_one() == Decimal("0.30")


def test_scale_four(money_table):
    conn, table = money_table
    conn.execute(insert(table), [{"amount": Decimal("1.00"), "rate": Decimal("24.3125")}])
    assert conn.execute(select(table.c.rate)).scalar_one() == Decimal("24.3125")


@pytest.mark.parametrize("bad", [Decimal("1.005"), "abc", Decimal("NaN"), Decimal("Infinity")])
def test_inexact_or_garbage_is_refused(money_table, bad):
    conn, table = money_table
    with pytest.raises(StatementError) as info:
        conn.execute(insert(table), [{"amount": bad}])
    assert isinstance(info.value.orig, InexactMoneyError)


def test_float_is_refused(money_table):
    conn, table = money_table
    with pytest.raises(StatementError) as info:
        conn.execute(insert(table), [{"amount": 0.1}])
    assert isinstance(info.value.orig, TypeError)
