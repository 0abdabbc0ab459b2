"""kill -9 in the middle of a large import, then the re-run: every movement once, the ledger balanced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from mango_billing.models import LedgerEntry, Payment, StatementFile
from mango_billing.payments.benchmark import statement_for
from mango_core.tenancy.context import operator_scope
from mango_core.testing.live import server_database

LINES = 30_000

SCRIPT = r"""
import sys, tempfile
from pathlib import Path
from sqlalchemy import select
from mango_core.app import create_app
from mango_core.config import load_settings
from mango_core.db.migrations import upgrade_all
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount, Location
from mango_core.customers.models import Customer
from mango_core.testing.fixtures import build_world, reset_database

url, mode, path, marker = sys.argv[1:5]
app = create_app(settings=load_settings({"database_url": url, "plugins": ["billing"]},
                                        instance_path=Path(tempfile.mkdtemp())))
mango = app.extensions["mango"]
if mode == "setup":
    reset_database(url)
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _l: None)
    with mango.db.session() as s:
        world = build_world(s, mango)
        s.commit()
        with location_scope(world.loc_a.id):
            s.add(BankAccount(label="bench", account_number="2400222222/2010", iban="CZ6520100000002400222222"))
            for n in range(1, 201):
                s.add(Customer(number=n, variable_symbol=str(n), kind="person", first_name="A", last_name=str(n),
                               display_name=f"A {n}", sort_name=f"{n} a", state="active"))
            s.commit()
    sys.exit(0)
from mango_billing.payments.importer import import_statement

def progress(done, total):
    Path(marker).write_text(str(done))
    if mode == "slow":
        import time
        time.sleep(0.5)  # give the test time to kill us mid-way

with app.app_context(), mango.db.session() as s:
    loc = s.scalar(select(Location.id).where(Location.code == "PRG"))
    summary = import_statement(s, loc, Path(path).read_bytes(), "big.gpc", progress=progress)
    s.commit()
    print(summary.as_json())
"""


@pytest.fixture
def kill_db(tmp_path):
    url, drop = server_database(tmp_path, "kill")  # the test's own database goes with it
    try:
        yield url
    finally:
        drop()


def run(url: str, mode: str, path: Path, marker: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, url, mode, str(path), str(marker)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_kill_during_import_then_rerun(kill_db, tmp_path):
    path, marker = tmp_path / "big.gpc", tmp_path / "progress"
    setup = run(kill_db, "setup", path, marker)
    assert setup.wait(timeout=300) == 0, setup.stderr.read()
    # VS 1..200 are customers, 201..260 nobody: matched and unmatched payments both
    path.write_bytes(statement_for([str(n) for n in range(1, 261)], LINES))

    victim = run(kill_db, "slow", path, marker)
    deadline = time.monotonic() + 240
    while not marker.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), victim.stderr.read()
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    engine = create_engine(kill_db)
    with engine.connect() as conn:  # plain Core on the raw tables: the test is the operator here
        assert conn.scalar(text("SELECT count(*) FROM billing_payment")) == 0
        assert conn.scalar(text("SELECT count(*) FROM billing_statement_file")) == 0

    rerun = run(kill_db, "fast", path, marker)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert '"new": 30000' in out

    again = run(kill_db, "fast", path, marker)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert '"new": 0, "duplicates": 30000' in out

    from sqlalchemy.orm import Session

    with Session(engine) as s, operator_scope():
        assert s.scalar(select(func.count()).select_from(Payment)) == LINES
        assert s.scalar(select(func.count(func.distinct(Payment.dedup_key)))) == LINES
        assert s.scalar(select(func.count()).select_from(StatementFile)) == 1
        matched = s.scalar(select(func.sum(Payment.amount)).where(Payment.state == "matched"))
        booked = s.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.payment_id.is_not(None)))
        entries = s.scalar(select(func.count()).select_from(LedgerEntry))
        matched_count = s.scalar(select(func.count()).select_from(Payment).where(Payment.state == "matched"))
    engine.dispose()
    assert entries == matched_count and 0 < matched_count < LINES
    assert Decimal(matched) == Decimal(booked) and Decimal(booked) > 0
