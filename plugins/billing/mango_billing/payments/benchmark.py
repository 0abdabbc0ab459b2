"""``import_lines_per_s``: import of a generated GPC statement, matching included (for bench/billing.py).

    .venv/bin/python -m mango_billing.payments.benchmark postgresql+psycopg://…/mango_bench [lines]

:func:`measure_import` takes a database URL (the database is emptied and built: migrations, the test
world, ``lines`` customers through the CRM bulk loader as bench/crm.py does) or a session factory of a
database that already holds location PRG with customers. The statement pays every customer's variable
symbol once (so every line is matched and booked), is written by ``gpc_writer.write_gpc`` and imported
once; the time covers parsing, de-duplication, matching, the inserts and the commit.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_billing.bank import BankMovement, BankStatement
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.models import Payment
from mango_billing.payments.importer import import_statement
from mango_core.customers.models import Customer
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount, Location

BENCH_ACCOUNT = "2400222222/2010"


def _prepare(url: str, lines: int) -> Callable[[], Session]:
    from mango_core.app import create_app
    from mango_core.config import load_settings
    from mango_core.customers.bulk import bulk_create
    from mango_core.customers.demo import fake_records
    from mango_core.db.migrations import upgrade_all
    from mango_core.testing.fixtures import build_world, reset_database

    reset_database(url)
    tmp = Path(tempfile.mkdtemp(prefix="mango-bench-import-"))
    app = create_app(settings=load_settings({"database_url": url, "plugins": ["billing"]}, instance_path=tmp))
    mango = app.extensions["mango"]
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _line: None)
    with mango.db.session() as s:
        world = build_world(s, mango)
        s.commit()
        with location_scope(world.loc_a.id):
            bulk_create(s, fake_records(lines, seed=1),
                        progress=lambda n: s.commit() if n % 10000 == 0 else None)
        s.commit()
    if mango.db.dialect == "postgresql":
        with mango.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return mango.db.Session


def statement_for(symbols: list[str], lines: int, first_id: int = 1_000_000) -> bytes:
    """A GPC statement of ``lines`` incoming payments paying ``symbols`` in turn (bank ids from ``first_id``)."""
    start = date(2024, 1, 1)
    movements = tuple(
        BankMovement(bank_id=str(first_id + i), booked=start + timedelta(days=i % 28),
                     amount=Decimal(100 + i % 900) + Decimal("0.50"), currency="CZK",
                     counter_account=f"{1_000_000 + i % 50_000}/0800", counter_name=None,
                     variable_symbol=symbols[i % len(symbols)], constant_symbol="308", specific_symbol=None,
                     message=None)
        for i in range(lines))
    return write_gpc(BankStatement("gpc", BENCH_ACCOUNT, "CZK", "1", None, None, Decimal("0"), None, movements))


def measure_import(url_or_session_factory: str | Callable[[], Session], lines: int = 50_000) -> float:
    """Lines per second of one import of a ``lines``-line GPC statement (module doc)."""
    factory = _prepare(url_or_session_factory, lines) if isinstance(url_or_session_factory, str) \
        else url_or_session_factory
    with factory() as s:
        location_id = s.scalar(select(Location.id).where(Location.code == "PRG"))
        if location_id is None:
            raise RuntimeError("the benchmark database has no location PRG")
        with location_scope(location_id):
            symbols = list(s.scalars(select(Customer.variable_symbol).order_by(Customer.id).limit(lines)))
            if not symbols:
                raise RuntimeError("the benchmark location has no customers")
            if s.scalar(select(BankAccount.id).where(BankAccount.account_number == BENCH_ACCOUNT)) is None:
                s.add(BankAccount(label="bench", account_number=BENCH_ACCOUNT, iban="CZ6520100000002400222222"))
                s.commit()
            # new bank ids on every measurement of the same database (a repeat would be all duplicates)
            done = s.scalar(select(func.count()).select_from(Payment))
        data = statement_for(symbols, lines, first_id=1_000_000 + done)
        started = time.perf_counter()
        summary = import_statement(s, location_id, data, "bench.gpc")
        s.commit()
        elapsed = time.perf_counter() - started
    if summary.new != lines or summary.matched != lines:
        raise RuntimeError(f"benchmark import was not clean: {summary}")
    return lines / elapsed


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    print(f'{{"import_lines_per_s": {measure_import(target, count):.0f}}}')
