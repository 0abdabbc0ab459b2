"""Billing benchmark (issue 4): a billing run, invoice PDF rendering and a bank statement import.

    .venv/bin/python bench/billing.py [--customers 100000] [--backends sqlite,postgresql] [--pdfs 30]
    .venv/bin/python bench/billing.py --measure-only URL   # time again on an already loaded database

Builds each backend from scratch (migrations, the test world, bulk-loaded customers with 1.5
services each in location PRG — the CRM benchmark's loader), then times ``run_billing`` for one
month (PDFs excluded), the rendering of invoice PDFs and the import of a generated 50,000-line GPC
statement with matching. Prints one JSON object per backend: backend, customers, services,
invoices, invoices_per_s, pdf_per_s, import_lines_per_s (goals on PostgreSQL: ≥ 2,000 invoices/s,
≥ 20,000 lines/s).

``--measure-only URL`` reuses a database that an earlier full run loaded: it bills the first two
months after the latest billed one (the run and the engine-only run each need a month nobody has
billed yet), so repeated measurements need no rebuild.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crm import load_services  # noqa: E402  (the CRM benchmark's bulk loader)

from mango_billing.invoices import to_document  # noqa: E402
from mango_billing.models import BillingRun, Invoice  # noqa: E402
from mango_billing.outputs.html import render_invoice_pdf  # noqa: E402
from mango_billing.periods import add_months  # noqa: E402
from mango_billing.run import run_billing  # noqa: E402
from mango_core.app import create_app  # noqa: E402
from mango_core.config import load_settings  # noqa: E402
from mango_core.customers.bulk import bulk_create  # noqa: E402
from mango_core.customers.demo import fake_records  # noqa: E402
from mango_core.db.migrations import upgrade_all  # noqa: E402
from mango_core.services.models import Service  # noqa: E402
from mango_core.tenancy.context import location_scope  # noqa: E402
from mango_core.tenancy.models import BankAccount, Location  # noqa: E402
from mango_core.testing.fixtures import build_world, reset_database  # noqa: E402

DEFAULT_PG = os.environ.get("MANGO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/mango_bench")


def prepare(url: str, count: int, tmp: Path):  # noqa: ANN201
    reset_database(url)
    app = create_app(settings=load_settings({"database_url": url, "plugins": ["billing"]}, instance_path=tmp))
    mango = app.extensions["mango"]
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _l: None)
    with mango.db.session() as s:
        world = build_world(s, mango)
        world.loc_a.dic = "CZ27082440"
        s.commit()
        loc_id = world.loc_a.id
        with location_scope(loc_id):
            s.add(BankAccount(label="Main", account_number="19-2000145399/0800", iban="CZ6508000000192000145399",
                              is_default=True))
            bulk_create(s, fake_records(count, seed=1), progress=lambda n: s.commit() if n % 10000 == 0 else None)
        s.commit()
        load_services(s, loc_id, world.loc_a2.id)
        s.commit()
    if mango.db.dialect == "postgresql":
        # the loaded tables as autovacuum leaves them soon after a bulk load, and as a billing run meets
        # them in production: visibility map and hint bits set, statistics fresh. Straight after the
        # load, the first statement to read a row still has to look up its transaction and set them.
        with mango.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return app, loc_id


def next_period(app, loc_id: int) -> date:  # noqa: ANN001
    """The month to measure: this month on a fresh database, else the month after the latest billed one."""
    mango = app.extensions["mango"]
    with app.app_context(), location_scope(loc_id), mango.db.session() as s:
        latest = s.scalar(select(func.max(BillingRun.period_start)))
    this_month = date.today().replace(day=1)
    return this_month if latest is None else max(this_month, add_months(latest, 1))


def measure(app, loc_id: int, pdfs: int) -> dict:  # noqa: ANN001
    mango = app.extensions["mango"]
    period = next_period(app, loc_id)
    if mango.db.dialect == "postgresql":
        # fresh statistics, as autovacuum keeps them in production (the earlier runs grew the billing
        # tables; with stale ones the planner takes the invoice line table for empty)
        with mango.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    with app.app_context(), location_scope(loc_id), mango.db.session() as s:
        location = s.get(Location, loc_id)
        services = s.scalar(select(func.count()).select_from(Service))
        start = time.perf_counter()
        result = run_billing(s, location, period, batch_size=1000)
        elapsed = time.perf_counter() - start
        # the same run of the next month without the plugins' invoices_issued hooks (uniCredit,
        # delivery…): what the engine itself does
        import mango_billing.invoices as invoices_mod

        emit, invoices_mod.emit_issued = invoices_mod.emit_issued, lambda *a, **k: None
        try:
            start = time.perf_counter()
            engine_only = run_billing(s, location, add_months(period, 1), batch_size=1000)
            engine_elapsed = time.perf_counter() - start
        finally:
            invoices_mod.emit_issued = emit
        ids = list(s.scalars(select(Invoice.id).order_by(Invoice.id).limit(pdfs)))
        start = time.perf_counter()
        for invoice_id in ids:
            render_invoice_pdf(to_document(s.get(Invoice, invoice_id)))
        pdf_elapsed = time.perf_counter() - start
    return {"period": period.strftime("%Y-%m"), "customers": result.customers, "services": services, "invoices": result.invoices,
            "run_s": round(elapsed, 2), "invoices_per_s": round(result.invoices / elapsed, 1),
            "invoices_per_s_without_event_hooks": round(engine_only.invoices / engine_elapsed, 1),
            "pdf_per_s": round(len(ids) / pdf_elapsed, 2) if ids else None}


def import_speed(app, lines: int) -> int:  # noqa: ANN001
    """Lines per second of importing a generated GPC statement that pays the customers' symbols.

    Inside the app context, so the plugins' reactions to matched payments (dunning, uniCredit) count.
    """
    from mango_billing.payments.benchmark import measure_import

    with app.app_context():
        return round(measure_import(app.extensions["mango"].db.Session, lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--pdfs", type=int, default=30)
    parser.add_argument("--import-lines", type=int, default=50_000, help="lines of the generated GPC statement")
    parser.add_argument("--measure-only", metavar="URL", help="time again on an already loaded database")
    args = parser.parse_args()
    if args.measure_only:
        tmp = Path(tempfile.mkdtemp(prefix="mango-billing-"))
        app = create_app(settings=load_settings({"database_url": args.measure_only, "plugins": ["billing"]},
                                                instance_path=tmp))
        mango = app.extensions["mango"]
        upgrade_all(mango.db.engine, mango.plugins, progress=lambda _l: None)  # a newer migration, if any
        with mango.db.session() as s:
            loc_id = s.scalar(select(Location.id).where(Location.code == "PRG"))
        figures = {"backend": mango.db.dialect, **measure(app, loc_id, args.pdfs)}
        figures["import_lines_per_s"] = import_speed(app, args.import_lines)
        print(json.dumps(figures))
        mango.db.dispose()
        return
    for backend in args.backends.split(","):
        tmp = Path(tempfile.mkdtemp(prefix=f"mango-billing-{backend}-"))
        url = f"sqlite:///{tmp / 'billing.sqlite3'}" if backend == "sqlite" else args.pg_url
        print(f"{backend}: preparing {args.customers} customers in {url} (--measure-only URL reuses it)…",
              file=sys.stderr)
        app, loc_id = prepare(url, args.customers, tmp)
        figures = {"backend": app.extensions["mango"].db.dialect, **measure(app, loc_id, args.pdfs)}
        figures["import_lines_per_s"] = import_speed(app, args.import_lines)
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
