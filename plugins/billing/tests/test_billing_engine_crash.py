"""Reliability of the billing run: kill -9 in the middle and rerun; two processes issuing at once (PostgreSQL).

These tests commit for real (a subprocess must see the data), in a location of their own; issued
documents are append-only, so what they issue stays in the test database (a fresh one per session).
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mango_billing.models import Invoice, InvoiceLine, LedgerEntry
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.services.models import Service
from mango_core.tenancy.context import location_scope, operator_scope
from mango_core.tenancy.models import Location, Partner
from mango_core.testing.factories import make_row

ON_POSTGRES = os.environ.get("MANGO_TEST_DATABASE_URL", "").startswith("postgresql")
_codes = itertools.count(1)

WORKER = textwrap.dedent("""
    import os, signal, sys
    from mango_core.app import create_app
    from mango_core.config import load_settings
    from mango_core.tenancy.context import location_scope
    from mango_core.tenancy.models import Location
    from mango_billing import invoices
    from mango_billing.run import run_billing

    url, location_id, period, kill_at, instance, ahead = sys.argv[1:7]
    app = create_app(settings=load_settings({"database_url": url, "plugins": ["billing"]}, instance_path=instance))
    mango = app.extensions["mango"]
    calls = {"n": 0}
    original = invoices.mark_used

    def mark_then_maybe_die(*args, **kwargs):
        original(*args, **kwargs)
        calls["n"] += 1
        if kill_at.isdigit() and calls["n"] == int(kill_at):  # inside a batch: invoices, lines and ledger written, not committed
            os.kill(os.getpid(), signal.SIGKILL)

    invoices.mark_used = mark_then_maybe_die
    if kill_at.startswith("sql:"):  # killed before the N-th statement the run sends, wherever that is
        from sqlalchemy import event

        sent = {"n": 0}

        @event.listens_for(mango.db.engine, "before_cursor_execute")
        def count(*_args):
            sent["n"] += 1
            if sent["n"] == int(kill_at[4:]):
                os.kill(os.getpid(), signal.SIGKILL)

        import atexit
        atexit.register(lambda: print("statements", sent["n"], file=sys.stderr))
    with app.app_context(), location_scope(int(location_id)), mango.db.session() as session:
        location = session.get(Location, int(location_id))
        result = run_billing(session, location, period, batch_size=4, issued_on=__import__("datetime").date(2025, 3, 1),
                             rate_ahead=ahead == "ahead")
        print(result.invoices)
""")


def _committed_location(mango, customers: int, activated: date = date(2024, 1, 1)) -> int:
    n = next(_codes)
    with Session(mango.db.engine) as s:
        with operator_scope():
            partner = Partner(code=f"CRASH{n}{os.getpid() % 1000}", name="Crash", company_name="Crash s.r.o.",
                              ico="27082440")
            location = Location(partner=partner, code=f"KX{n}{os.getpid() % 1000}", name="Crash",
                                company_name="Crash s.r.o.", ico="27082440", dic="CZ27082440", vat_payer=True)
            s.add_all([partner, location])
            s.commit()
            location_id = location.id
        with location_scope(location_id):
            prod = make_row(s, Product, price=Decimal("333.33"), vat_rate=Decimal("21"))
            for _ in range(customers):
                customer = make_row(s, Customer)
                make_row(s, Service, customer_id=customer.id, product_id=prod.id, class_id=prod.class_id,
                         state="active", start_date=activated, activated_on=activated)
            s.commit()
    return location_id


@pytest.fixture
def committed(mango):
    """Make committed locations; deactivate them afterwards (their documents cannot be deleted), so that
    other tests that list active locations do not see them."""
    made: list[int] = []

    def make(customers: int, activated: date = date(2024, 1, 1)) -> int:
        made.append(_committed_location(mango, customers, activated))
        return made[-1]

    yield make
    with Session(mango.db.engine) as s, operator_scope():
        s.execute(update(Location).where(Location.id.in_(made)).values(is_active=False))
        s.commit()


def _worker(mango, location_id: int, period: str, kill_at: int, tmp_path, ahead: bool = False) -> subprocess.Popen:
    url = mango.db.engine.url.render_as_string(hide_password=False)
    return subprocess.Popen([sys.executable, "-c", WORKER, url, str(location_id), period, str(kill_at), str(tmp_path),
                             "ahead" if ahead else "alone"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check_books(mango, location_id: int, customers: int, periods: int, *, exact: bool = True) -> None:
    """No duplicate, no gap, a balanced ledger; ``exact``: one invoice per customer and period.

    Without ``exact`` (runs of two periods racing) a customer whose later period was billed first has
    the earlier days on that invoice as catch-up, and the earlier run finds nothing left to bill:
    fewer invoices, but every day billed exactly once (see :func:`_check_days`).
    """
    with Session(mango.db.engine) as s, location_scope(location_id):
        rows = s.execute(select(Invoice.customer_id, Invoice.run_id, Invoice.sequence, Invoice.total)).all()
        if exact:
            assert len(rows) == customers * periods
        else:
            assert customers <= len(rows) <= customers * periods
        assert len({(r.customer_id, r.run_id) for r in rows}) == len(rows)  # one invoice per customer and run
        assert sorted(r.sequence for r in rows) == list(range(1, len(rows) + 1))  # no gap, no duplicate
        ledger = s.scalar(select(func.sum(LedgerEntry.amount)))
        assert ledger == -sum(r.total for r in rows)
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == len(rows)


# "ahead": a second process rates the next batches (mango_billing.run_ahead), as in a large run
@pytest.mark.parametrize("ahead", [False, True], ids=["alone", "ahead"])
def test_kill_9_in_the_middle_of_a_run_then_rerun(mango, committed, tmp_path, ahead):
    location_id = committed(14)
    killed = _worker(mango, location_id, "2025-03", 2, tmp_path, ahead)
    out, err = killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, err
    with Session(mango.db.engine) as s, location_scope(location_id):
        assert s.scalar(select(func.count()).select_from(Invoice)) == 4  # the first batch only
    rerun = _worker(mango, location_id, "2025-03", 0, tmp_path, ahead)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert out.strip() == "10"
    _check_books(mango, location_id, 14, 1)
    again = _worker(mango, location_id, "2025-03", 0, tmp_path, ahead)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and out.strip() == "0", err


def test_kill_9_before_any_statement_of_a_run_then_rerun(mango, committed, tmp_path):
    """Killed before its 1st, 2nd, 5th statement, at every sixth of the run and before its last: the rerun
    always finishes with every customer billed once, gapless numbers and a balanced ledger."""
    probe = _worker(mango, committed(14), "2025-03", "sql:0", tmp_path)
    out, err = probe.communicate(timeout=120)
    assert probe.returncode == 0 and out.strip() == "14", err
    total = int(re.search(r"statements (\d+)", err).group(1))
    assert total > 20, err  # the run goes through its batches statement by statement
    for point in sorted({1, 2, 5, *(total * k // 6 for k in range(1, 6)), total - 1}):
        location_id = committed(14)
        killed = _worker(mango, location_id, "2025-03", f"sql:{point}", tmp_path)
        _out, err = killed.communicate(timeout=120)
        assert killed.returncode == -signal.SIGKILL, (point, err)
        rerun = _worker(mango, location_id, "2025-03", 0, tmp_path)
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, (point, err)
        _check_books(mango, location_id, 14, 1)


@pytest.mark.skipif(not ON_POSTGRES, reason="two writing processes need PostgreSQL (SQLite locks the whole file)")
@pytest.mark.parametrize("ahead", [False, True], ids=["alone", "ahead"])
def test_two_processes_issuing_at_once_get_distinct_numbers(mango, committed, tmp_path, ahead):
    # activated in March: an April run that overtakes the March one bills March too (catch-up), so
    # every day is billed once whichever run comes first
    location_id = committed(30, activated=date(2025, 3, 1))
    workers = [_worker(mango, location_id, period, 0, tmp_path, ahead) for period in ("2025-03", "2025-04", "2025-03")]
    time.sleep(0.1)
    for w in workers:
        out, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
    _check_books(mango, location_id, 30, 2, exact=False)
    _check_days(mango, location_id, 30, date(2025, 3, 1), date(2025, 4, 30))


def _check_days(mango, location_id: int, services: int, first: date, last: date) -> None:
    """Every service is billed for each day from ``first`` to ``last`` exactly once."""
    with Session(mango.db.engine) as s, location_scope(location_id):
        spans: dict[int, list[tuple[date, date]]] = defaultdict(list)
        for service_id, since, until in s.execute(select(InvoiceLine.service_id, InvoiceLine.period_from,
                                                         InvoiceLine.period_to)
                                                  .where(InvoiceLine.kind == "recurring")):
            spans[service_id].append((since, until))
    assert len(spans) == services
    for parts in spans.values():
        parts.sort()
        assert parts[0][0] == first and parts[-1][1] == last
        assert all(b[0] == a[1] + timedelta(days=1) for a, b in zip(parts, parts[1:], strict=False))


# --- rating ahead (mango_billing.run_ahead) ----------------------------------------------------------


def _rate(mango, location_id: int, period: str, batch: list[int]):  # noqa: ANN202
    """What the rating process hands the issuer for ``batch``: drafts and the newest invoice id before."""
    from mango_billing.run import billed_customer_map, compute_batch, load_catalog, period_bounds
    from mango_billing.run_ahead import Rated

    start, end = period_bounds(period)
    with Session(mango.db.engine) as s, location_scope(location_id):
        seen = s.scalar(select(func.coalesce(func.max(Invoice.id), 0)))
        drafts = compute_batch(s, load_catalog(s), s.get(Location, location_id), start, end, batch,
                               billed_customer_map(s))
    return Rated(batch, drafts, seen)


def _customers(mango, location_id: int) -> list[int]:
    with Session(mango.db.engine) as s, location_scope(location_id):
        return list(s.scalars(select(Customer.id).order_by(Customer.id)))


def _bill(mango, location_id: int, period: str, **kw):  # noqa: ANN202
    from mango_billing.run import run_billing

    with Session(mango.db.engine) as s, location_scope(location_id):
        return run_billing(s, s.get(Location, location_id), period, issued_on=date(2025, 5, 1), **kw)


def test_drafts_rated_before_another_issuer_billed_their_services_are_rated_again(mango, committed, monkeypatch):
    from mango_billing import run as run_mod
    from mango_billing.run_ahead import Rated, stale

    location_id = committed(6, activated=date(2025, 3, 1))
    customers = _customers(mango, location_id)
    march = _rate(mango, location_id, "2025-03", customers[:4])
    assert len(march.drafts) == 4
    with Session(mango.db.engine) as s, location_scope(location_id):
        assert not stale(s, march)  # nothing issued since the drafts were rated
    # meanwhile April is billed, March with it (catch-up): the March drafts would bill March twice
    assert _bill(mango, location_id, "2025-04").invoices == 6
    with Session(mango.db.engine) as s, location_scope(location_id):
        assert stale(s, march)
        # drafts of other services than those billed since are still good
        assert not stale(s, Rated([], [], march.seen_up_to))
    handed = []

    def stale_rating(_session, job):  # noqa: ANN001, ANN202 - the rating process, handing over the March drafts
        handed.extend(job.batches)
        for batch in job.batches:
            yield march if batch == customers[:4] else _rate(mango, location_id, "2025-03", batch)

    monkeypatch.setattr(run_mod, "rated_batches", stale_rating)
    result = _bill(mango, location_id, "2025-03", rate_ahead=True, batch_size=4)
    assert handed == [customers[:4], customers[4:]]
    assert result.invoices == 0  # rated again under the lock: March was billed already
    _check_books(mango, location_id, 6, 1)
    _check_days(mango, location_id, 6, date(2025, 3, 1), date(2025, 4, 30))


def test_rating_ahead_issues_what_the_issuer_alone_would(mango, committed):
    alone, ahead = committed(9), committed(9)
    expected = _bill(mango, alone, "2025-03", batch_size=2, rate_ahead=False)
    result = _bill(mango, ahead, "2025-03", batch_size=2, rate_ahead=True)
    assert (result.invoices, result.lines, result.total) == (expected.invoices, expected.lines, expected.total) \
        == (9, 9, Decimal("9") * Decimal("403.33"))
    _check_books(mango, ahead, 9, 1)
    assert _bill(mango, ahead, "2025-03", batch_size=2, rate_ahead=True).already_done


def test_a_failing_rating_process_stops_the_run_with_its_error(mango, committed):
    from mango_billing.run import period_bounds
    from mango_billing.run_ahead import Job, RatingAheadError, model_modules, rated_batches

    location_id = committed(3)
    start, end = period_bounds("2025-03")
    url = mango.db.engine.url.render_as_string(hide_password=False)
    with Session(mango.db.engine) as s, location_scope(location_id) as scope:
        job = Job(url=url, models=model_modules(), scope=scope, location_id=location_id + 10_000, run_start=start,
                  run_end=end, batches=[[1], [2]], billed={}, members_of={})
        # no such location: the rating fails inside the process, which reports its error
        with pytest.raises(RatingAheadError, match="rating process failed: AttributeError"):
            list(rated_batches(s, job))
        job.models = [*job.models, "mango_billing.no_such_module"]
        # the process ends before it rates anything; its last error line says why
        with pytest.raises(RatingAheadError, match=r"ended early \(exit code 1\): ModuleNotFoundError"):
            list(rated_batches(s, job))


def test_without_its_rating_process_the_run_rates_alone(mango, committed, monkeypatch, caplog):
    from mango_billing import run as run_mod

    location_id = committed(5)
    # the process cannot start its work (a model module it cannot import): the run goes on by itself
    monkeypatch.setattr(run_mod, "model_modules", lambda: ["mango_billing.no_such_module"])
    result = _bill(mango, location_id, "2025-03", batch_size=2, rate_ahead=True)
    assert result.invoices == 5
    assert "rating ahead stopped" in caplog.text and "ModuleNotFoundError" in caplog.text
    _check_books(mango, location_id, 5, 1)
