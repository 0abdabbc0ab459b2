"""Gapless per-location counters (mango_core.db.sequences): numbering, rollback, concurrency."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mango_core.db import sequences
from mango_core.db.sequences import Sequence, SequenceError
from mango_core.tenancy import TenancyError, location_scope, operator_scope, use_scope
from mango_core.tenancy.models import Location, Partner

ON_POSTGRES = os.environ.get("MANGO_TEST_DATABASE_URL", "").startswith("postgresql")


def test_numbers_follow_each_other_per_location_name_and_year(db, world):
    with location_scope(world.loc_a.id):
        assert [sequences.take(db, "invoice", year=2025) for _ in range(3)] == [1, 2, 3]
        assert sequences.take(db, "invoice", year=2026) == 1
        assert sequences.take(db, "customer", start=1000) == 1000
        assert sequences.take(db, "customer") == 1001
        assert sequences.peek(db, "invoice", year=2025) == 4
    with location_scope(world.loc_b.id):
        assert sequences.take(db, "invoice", year=2025) == 1
        assert sequences.peek(db, "never-used") == 1


def test_a_rolled_back_number_is_taken_again(db, world):
    with location_scope(world.loc_a.id):
        assert sequences.take(db, "invoice") == 1
        db.commit()
        assert sequences.take(db, "invoice") == 2
        db.rollback()
        assert sequences.take(db, "invoice") == 2
        db.rollback()
        assert sequences.take(db, "fresh") == 1  # the row of a new counter goes with the rollback too
        db.rollback()
        assert sequences.take(db, "fresh") == 1


def test_set_next_never_goes_back(db, world):
    with location_scope(world.loc_a.id):
        sequences.set_next(db, "invoice", 500, year=2025)
        assert sequences.take(db, "invoice", year=2025) == 500
        with pytest.raises(SequenceError):
            sequences.set_next(db, "invoice", 10, year=2025)
        sequences.set_next(db, "invoice", 900, year=2025)
        assert sequences.take(db, "invoice", year=2025) == 900


def test_bad_names_and_missing_scope(db, world):
    with location_scope(world.loc_a.id):
        for bad in ("", "x" * 61):
            with pytest.raises(SequenceError):
                sequences.take(db, bad)
        with pytest.raises(SequenceError):
            sequences.take(db, "invoice", year=12)
    with use_scope(None), pytest.raises(TenancyError):
        sequences.take(db, "invoice")
    with operator_scope(), pytest.raises(TenancyError):
        sequences.take(db, "invoice")  # the operator's scope has no write location


# --- two real connections (PostgreSQL: row locks across connections) ---------------------------------


@pytest.fixture
def committed_location(mango):
    """A location committed for real (the other tests' data live in a rolled-back transaction)."""
    with Session(mango.db.engine) as s, operator_scope():
        partner = Partner(code="SEQTEST", name="Seq", company_name="Seq s.r.o.")
        location = Location(partner=partner, code="SEQ", name="Seq", company_name="Seq s.r.o.")
        s.add_all([partner, location])
        s.commit()
        ids = (partner.id, location.id)
    yield ids[1]
    with Session(mango.db.engine) as s, operator_scope():
        s.execute(delete(Sequence).where(Sequence.location_id == ids[1]))
        s.execute(delete(Location).where(Location.id == ids[1]))
        s.execute(delete(Partner).where(Partner.id == ids[0]))
        s.commit()


def _worker(mango, location_id: int, name: str, takes: int, out: list, *, hold: float = 0.0,
            rollback: bool = False, barrier: threading.Barrier | None = None) -> None:
    with location_scope(location_id):
        for _ in range(takes):
            with Session(mango.db.engine) as s:
                if barrier is not None:
                    barrier.wait()
                number = sequences.take(s, name)
                time.sleep(hold)
                if rollback:
                    s.rollback()
                else:
                    s.commit()
                    out.append(number)


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: set MANGO_TEST_DATABASE_URL=postgresql+psycopg://…")
def test_concurrent_transactions_get_distinct_numbers_without_gaps(mango, committed_location):
    taken: list[int] = []
    barrier = threading.Barrier(2)
    # The first use of the counter by two connections at once: one creates the row, the other retries.
    threads = [threading.Thread(target=_worker, args=(mango, committed_location, "race", 1, taken),
                                kwargs={"barrier": barrier, "hold": 0.2}) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(taken) == [1, 2]
    # Many short transactions from four connections.
    threads = [threading.Thread(target=_worker, args=(mango, committed_location, "race", 15, taken))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(taken) == list(range(1, 63))


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: set MANGO_TEST_DATABASE_URL=postgresql+psycopg://…")
def test_a_waiting_transaction_gets_the_number_a_rolled_back_one_gave_back(mango, committed_location):
    with location_scope(committed_location), Session(mango.db.engine) as first:
        assert sequences.take(first, "rb") == 1
        first.commit()
        assert sequences.take(first, "rb") == 2  # holds the row lock until it rolls back
        taken: list[int] = []
        second = threading.Thread(target=_worker, args=(mango, committed_location, "rb", 1, taken))
        second.start()
        time.sleep(0.5)
        assert taken == []  # the second connection waits for the first
        first.rollback()
        second.join(30)
    assert taken == [2]
    with Session(mango.db.engine) as s, location_scope(committed_location):
        assert s.scalar(select(Sequence.next_value).where(Sequence.name == "rb")) == 3


def test_take_block_hands_out_consecutive_numbers_and_gives_them_back_on_rollback(db, world):
    with location_scope(world.loc_a.id):
        assert sequences.take_block(db, "billing.series.TB", 3, year=2025) == 1
        assert sequences.take_block(db, "billing.series.TB", 2, year=2025) == 4
        assert sequences.take(db, "billing.series.TB", year=2025) == 6
        db.commit()
        assert sequences.take_block(db, "billing.series.TB", 10, year=2025) == 7
        db.rollback()
        assert sequences.take_block(db, "billing.series.TB", 1, year=2025) == 7
        assert sequences.take_block(db, "billing.series.TB", 1, year=2026) == 1
        for bad in (0, -1, True, "2"):
            with pytest.raises(SequenceError):
                sequences.take_block(db, "billing.series.TB", bad, year=2025)
