"""The successful paths of ``mango billing run``, ``import`` and ``fio-token`` (their errors: test_billing_cli.py).

The commands' sessions come from ``mango.db.Session``, which the ``db`` fixture binds to its own connection:
what they commit is released savepoints of the test's transaction, rolled back afterwards like the rest.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from test_billing_engine_run import product, service
from test_billing_payments_import import account, customer, invoice

from mango_billing import ledger
from mango_billing.models import BillingRun, Invoice, InvoiceLine, Payment, StatementFile
from mango_billing.payments.benchmark import BENCH_ACCOUNT, statement_for
from mango_billing.payments.fio_download import token_of
from mango_billing.payments.models import FioLink
from mango_core.cli import main
from mango_core.customers.models import Customer
from mango_core.tenancy.context import location_scope
from mango_core.testing.factories import make_row

TOKEN = "abcDEF123456ghiJKL7890mnoPQR"


def invoke(app, *args: str, **kw):  # noqa: ANN001, ANN201
    return app.test_cli_runner().invoke(main, ["billing", *args], **kw)


def count(db, model) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def prg(app, db, world):  # noqa: ANN001, ANN201
    """PRG with three customers, one service each (a VAT payer needs a DIČ to issue)."""
    with location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        net = product(db, "413.22")
        for _ in range(3):
            service(db, make_row(db, Customer), net)
        db.commit()
        yield world.loc_a


def test_run_dry_then_real_then_again(app, db, prg):
    dry = invoke(app, "run", "--location", "prg", "--period", "2025-03", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    summary = json.loads(dry.stdout)  # click 8.2+: stdout alone; the progress bar went to stderr
    assert "Billing PRG 2025-03" in dry.stderr and "Billing" not in dry.stdout
    assert (summary["dry_run"], summary["customers"], summary["invoices"]) == (True, 3, 3)
    assert count(db, Invoice) == 0 and count(db, BillingRun) == 0

    real = invoke(app, "run", "--location", "PRG", "--period", "2025-03", "--json")
    assert real.exit_code == 0, real.output
    summary = json.loads(real.stdout)
    assert "Billing PRG 2025-03" in real.stderr
    run = db.scalar(select(BillingRun))
    assert (run.state, run.id, summary["run_id"], summary["already_done"]) == ("done", run.id, run.id, False)
    assert summary["invoices"] == count(db, Invoice) == run.invoices == 3
    assert summary["lines"] == count(db, InvoiceLine)
    assert Decimal(summary["total"]) == db.scalar(select(func.sum(Invoice.total))) == run.total

    again = invoke(app, "run", "--location", "PRG", "--period", "2025-03")
    assert again.exit_code == 0, again.output
    assert f"PRG 2025-03: billed already (run {run.id}); nothing issued." in again.stdout
    assert count(db, Invoice) == 3


def test_import_stores_matches_and_is_idempotent(app, db, world, tmp_path):
    with location_scope(world.loc_a.id):
        account(db, BENCH_ACCOUNT)
        payer = customer(db)
        open_invoice = invoice(db, payer, "100.50", payer.variable_symbol)
        db.commit()
    data = statement_for([payer.variable_symbol, "987654321"], 2)  # pays 100.50, then 101.50 to nobody
    path = tmp_path / "vypis.gpc"
    path.write_bytes(data)

    first = invoke(app, "import", str(path), "--location", "PRG", "--format", "gpc", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"new": 2, "duplicates": 0, "matched": 1, "unmatched": 1}
    again = invoke(app, "import", str(path), "--location", "PRG", "--format", "gpc", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"new": 0, "duplicates": 2, "matched": 0, "unmatched": 0}

    with location_scope(world.loc_a.id):
        stored = db.scalars(select(StatementFile)).one()
        assert stored.content == data and stored.sha256 == hashlib.sha256(data).hexdigest()
        assert stored.filename == "vypis.gpc" and (stored.movements, stored.new) == (2, 2)
        paid = db.scalars(select(Payment).where(Payment.customer_id == payer.id)).one()
        assert (paid.amount, paid.state) == (Decimal("100.50"), "matched")
        assert ledger.balance(db, payer.id) == 0 and open_invoice.total == paid.amount
        assert count(db, Payment) == 2


@pytest.fixture
def fio_key(mango, monkeypatch) -> str:  # noqa: ANN001
    key = Fernet.generate_key().decode()
    monkeypatch.setitem(mango.settings.data, "plugin_settings",  # as [plugin_settings.billing] in mango.toml
                        {**mango.settings.section("plugin_settings"), "billing": {"fio_token_key": key}})
    return key


def link_of(db, world, account_id: int) -> FioLink | None:  # noqa: ANN001
    db.expire_all()  # the command wrote through a session of its own
    with location_scope(world.loc_a.id):
        return db.scalar(select(FioLink).where(FioLink.bank_account_id == account_id))


def test_fio_token_is_stored_encrypted(app, db, world, fio_key):
    with location_scope(world.loc_a.id):
        acc_id = account(db, "214498596/2010").id
        db.commit()
    stored = invoke(app, "fio-token", "--location", "PRG", "--account", str(acc_id), "--base-url",
                    "http://127.0.0.1:9/rest", input=f"{TOKEN}\n")
    assert stored.exit_code == 0, stored.output
    assert f"#{acc_id} Fio (214498596/2010) stored: …{TOKEN[-4:]}" in stored.stdout and TOKEN not in stored.output
    link = link_of(db, world, acc_id)
    assert TOKEN not in link.token_encrypted and token_of(link, fio_key) == TOKEN
    assert (link.token_hint, link.base_url, link.is_active) == (TOKEN[-4:], "http://127.0.0.1:9/rest", True)
    encrypted = link.token_encrypted

    bad = invoke(app, "fio-token", "--location", "PRG", "--account", str(acc_id), input="not a token!\n")
    assert bad.exit_code != 0 and "letters and digits" in bad.output
    assert link_of(db, world, acc_id).token_encrypted == encrypted

    off = invoke(app, "fio-token", "--location", "PRG", "--account", str(acc_id), "--disable")
    assert off.exit_code == 0 and "switched off" in off.stdout, off.output
    link = link_of(db, world, acc_id)
    assert (link.is_active, link.token_encrypted) == (False, encrypted)


def test_fio_token_errors(app, db, world, fio_key, mango, monkeypatch):
    with location_scope(world.loc_b.id):
        foreign = account(db, "2400222222/2010")  # Brno's account
    with location_scope(world.loc_a.id):
        acc_id = account(db, "214498596/2010").id
    db.commit()
    unknown = invoke(app, "fio-token", "--location", "PRG", "--account", str(foreign.id), input=f"{TOKEN}\n")
    assert unknown.exit_code != 0 and f"bank account #{foreign.id} is not an account of this location" in unknown.output
    nothing = invoke(app, "fio-token", "--location", "PRG", "--account", str(acc_id), "--disable")
    assert nothing.exit_code != 0 and "has no Fio token" in nothing.output
    url = invoke(app, "fio-token", "--location", "PRG", "--account", str(acc_id), "--base-url", "ftp://x",
                 input=f"{TOKEN}\n")
    assert url.exit_code != 0 and "--base-url" in url.output
    monkeypatch.setitem(mango.settings.data, "plugin_settings", {})  # no fio_token_key
    no_key = invoke(app, "fio-token", "--location", "PRG", "--account", str(acc_id), input=f"{TOKEN}\n")
    assert no_key.exit_code != 0 and "set the billing setting fio_token_key" in no_key.output
    assert link_of(db, world, acc_id) is None
