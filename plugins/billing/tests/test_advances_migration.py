"""billing_0006 (and print_0002) on a SQLite database that already holds documents, with foreign keys on.

SQLite cannot alter a CHECK constraint; billing_0006 edits the table definitions in place instead of
rebuilding ``billing_invoice`` (which other tables reference: a rebuild would fail or cascade). This
test keeps its own SQLite file whatever database the suite runs on; on PostgreSQL the suite's own
schema is built by the same migrations.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from mango_billing.models import Invoice, InvoiceLine, InvoiceSeries
from mango_core.app import create_app
from mango_core.catalog.models import Product
from mango_core.config import load_settings
from mango_core.customers.models import Customer
from mango_core.db.migrations import alembic_config, lineages
from mango_core.tenancy.context import location_scope
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import build_world

BEFORE = {"billing": "billing_0005", "print": "print_0001"}


def test_upgrade_keeps_documents_and_relations(tmp_path, mango_test_plugins):  # noqa: ANN001
    settings = load_settings({"database_url": f"sqlite:///{tmp_path / 'old.sqlite3'}",
                              "plugins": mango_test_plugins, "testing": True}, instance_path=tmp_path)
    app = create_app(settings=settings)
    mango = app.extensions["mango"]
    engine = mango.db.engine
    steps = lineages(mango.plugins)
    for plugin, folder in steps:
        with engine.begin() as conn:
            command.upgrade(alembic_config(plugin, folder, conn), BEFORE.get(plugin, "heads"))

    session = mango.db.Session()
    world = build_world(session, mango)
    session.commit()
    with location_scope(world.loc_a.id):
        customer = make_row(session, Customer)
        product = make_row(session, Product)
        series = InvoiceSeries(code="FV", kind="invoice", format="FV{year}{number:06d}")
        session.add(series)
        session.flush()
        invoice = Invoice(kind="invoice", series_id=series.id, year=2025, sequence=1, number="FV2025000001",
                          customer_id=customer.id, issued_on=date(2025, 3, 1), taxable_supply_date=date(2025, 3, 1),
                          due_date=date(2025, 3, 15), variable_symbol="1", total_base=Decimal("100.00"),
                          total_vat=Decimal("21.00"), total=Decimal("121.00"), uuid=str(uuid.uuid4()))
        session.add(invoice)
        session.flush()
        session.add(InvoiceLine(invoice_id=invoice.id, position=1, description="Internet", unit_price=Decimal("100"),
                                vat_rate=Decimal("21"), base=Decimal("100.00"), vat=Decimal("21.00"),
                                total=Decimal("121.00")))
        session.commit()
        ids = {"invoice": invoice.id, "customer": customer.id, "product": product.id, "loc": world.loc_a.id}
    with engine.begin() as conn:  # print_0001's columns (the model has the new one already)
        conn.execute(text(
            "INSERT INTO print_order (id, customer_id, product_id, class_version, params, quantity, price, vat_rate, "
            "quote, advance, state, invoice_id, created_at, updated_at, location_id) VALUES (1, :c, :p, 1, '{}', 1, "
            "10000, 2100, '{}', 1, 'approved', :i, '2025-03-01 10:00:00', '2025-03-01 10:00:00', :l)"),
            {"c": ids["customer"], "p": ids["product"], "i": ids["invoice"], "l": ids["loc"]})
        conn.execute(text("INSERT INTO print_event (order_id, to_state, by_customer, at, location_id) "
                          "VALUES (1, 'received', 1, '2025-03-01 10:00:00', :l)"), {"l": ids["loc"]})

    for plugin, folder in steps:
        if plugin in BEFORE:
            with engine.begin() as conn:
                command.upgrade(alembic_config(plugin, folder, conn), "heads")

    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert conn.execute(text("SELECT count(*) FROM print_event")).scalar() == 1  # nothing cascaded away
        assert conn.execute(text("SELECT invoice_id, advance_invoice_id FROM print_order")).one() == (
            ids["invoice"], None)
        assert conn.execute(text("SELECT number FROM billing_invoice")).scalar() == "FV2025000001"
    with engine.begin() as conn:
        series_id = conn.execute(text("SELECT id FROM billing_series")).scalar()
        # the new kinds are accepted, an advance has no DUZP, unknown kinds are still refused
        row = {"s": series_id, "c": ids["customer"], "l": ids["loc"], "u": str(uuid.uuid4())}
        conn.execute(text(
            "INSERT INTO billing_invoice (kind, series_id, year, sequence, number, customer_id, issued_on, "
            "taxable_supply_date, due_date, variable_symbol, currency, vat_payer, payment_method, seller, buyer, "
            "total_base, total_vat, rounding, total, uuid, created_at, location_id) VALUES ('advance_tax', :s, 2025, "
            "2, 'X2', :c, '2025-03-02', NULL, '2025-03-02', '2', 'CZK', 1, 'bank_transfer', '{}', '{}', 0, 0, 0, 0, "
            ":u, '2025-03-02 10:00:00', :l)"), row)
        conn.execute(text("INSERT INTO billing_ledger (customer_id, account, kind, booked_on, amount, created_at, "
                          "location_id) VALUES (:c, 'advance', 'settlement', '2025-03-02', 0, "
                          "'2025-03-02 10:00:00', :l)"), row)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO billing_ledger (customer_id, account, kind, booked_on, amount, created_at, "
                          "location_id) VALUES (:c, 'bogus', 'payment', '2025-03-02', 0, '2025-03-02 10:00:00', :l)"),
                     {"c": ids["customer"], "l": ids["loc"]})
    with pytest.raises((IntegrityError, OperationalError), match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE billing_invoice SET total = 1"))
    # print_0002 goes back and forth on the populated database (its foreign key included)
    folder = dict(steps)["print"]
    with engine.begin() as conn:
        command.downgrade(alembic_config("print", folder, conn), "print_0001")
    with engine.connect() as conn:
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(print_order)"))]
        assert "advance_invoice_id" not in columns and "invoice_id" in columns
    with engine.begin() as conn:
        command.upgrade(alembic_config("print", folder, conn), "heads")
    with engine.connect() as conn:
        keys = [row[3] for row in conn.execute(text("PRAGMA foreign_key_list(print_order)"))]
        assert "advance_invoice_id" in keys and conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert conn.execute(text("SELECT count(*) FROM print_event")).scalar() == 1
    session.close()
    engine.dispose()
