"""The references of payments, ledger entries, invoices and their lines hold on both databases
(billing_0008, billing_0009).

SQLite keeps foreign keys; PostgreSQL checks them once per statement (mango_core.db.set_references).
The rules are the same: a reference to a missing row refuses the whole statement and stores nothing,
and a referenced row can neither be deleted nor get another key. The last tests run two real
PostgreSQL connections at once: a delete and an insert that race each other never leave an orphan.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from mango_billing.models import Invoice, InvoiceLine, LedgerEntry, Payment, StatementFile
from mango_billing.run import run_billing
from mango_core.catalog.models import Product
from mango_core.customers import service as customers
from mango_core.customers.models import Customer
from mango_core.db.set_references import Reference, install_statements, remove_statements, room_for
from mango_core.services.models import Service
from mango_core.tenancy import operator_scope
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount, Location, Partner
from mango_core.testing.factories import make_row

ON_POSTGRES = os.environ.get("MANGO_TEST_DATABASE_URL", "").startswith("postgresql")
NEEDS_PG = pytest.mark.skipif(not ON_POSTGRES,
                              reason="set checks are PostgreSQL's (SQLite keeps foreign keys): "
                                     "set MANGO_TEST_DATABASE_URL=postgresql+psycopg://…")
MISSING = 2_000_000_000  # an id no table of the test database reaches

INSERT_PAYMENT = text(
    "INSERT INTO billing_payment (location_id, dedup_key, method, received_on, amount, currency, reversal, state, "
    "target, customer_id, statement_id, bank_account_id, created_at) VALUES (:location, :key, 'bank', "
    "'2026-01-05', 100, 'CZK', false, :state, 'receivable', :customer, :statement, :account, '2026-01-05') "
    "RETURNING id")


def _payment(session, location: int, *, customer=None, statement=None, account=None) -> int:  # noqa: ANN001
    return session.execute(INSERT_PAYMENT, {"location": location, "key": f"t:{uuid.uuid4()}", "customer": customer,
                                         "state": "matched" if customer else "unmatched",
                                         "statement": statement, "account": account}).scalar_one()


def _constraint(exc: DBAPIError) -> str | None:
    orig = exc.orig
    if isinstance(orig, psycopg.Error):
        assert orig.sqlstate == "23503"  # foreign_key_violation, as from a foreign key
        return orig.diag.constraint_name
    return None  # SQLite names no constraint


@pytest.fixture
def account(db, world):  # noqa: ANN001, ANN201
    with location_scope(world.loc_a.id):
        account = BankAccount(label="Refs", account_number="19-123457/0800", iban="CZ5508000000190000123457")
        db.add(account)
        db.flush()
        return account


@pytest.mark.parametrize(("column", "constraint"), [
    ("customer", "fk_billing_payment_customer_id_core_customer"),
    ("statement", "fk_billing_payment_statement_id_billing_statement_file"),
    ("account", "fk_billing_payment_bank_account_id_core_bank_account"),
])
def test_a_payment_referring_to_a_missing_row_is_refused_and_nothing_is_stored(db, world, column, constraint):  # noqa: ANN001
    before = db.scalar(text("SELECT count(*) FROM billing_payment"))
    nested = db.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        _payment(db, world.loc_a.id, **{column: MISSING})
    nested.rollback()
    assert _constraint(caught.value) in (None, constraint)
    if ON_POSTGRES:
        name = {"customer": "customer_id", "statement": "statement_id", "account": "bank_account_id"}[column]
        assert caught.value.orig.diag.message_detail == \
            f'Key ({name})=({MISSING}) is not present in table "{constraint.split(name + "_")[1]}".'
    assert db.scalar(text("SELECT count(*) FROM billing_payment")) == before
    nested = db.begin_nested()
    with pytest.raises(IntegrityError):
        _payment(db, MISSING)  # a location that does not exist
    nested.rollback()


def test_one_bad_row_refuses_the_whole_statement(db, world, account):  # noqa: ANN001
    rows = ", ".join(f"(:l, :k{n}, 'bank', '2026-01-05', 100, 'CZK', false, 'unmatched', 'receivable', :a{n}, "
                     "'2026-01-05')" for n in range(3))
    three = text("INSERT INTO billing_payment (location_id, dedup_key, method, received_on, amount, currency, "
                 f"reversal, state, target, bank_account_id, created_at) VALUES {rows}")
    values = {"l": world.loc_a.id, "a0": account.id, "a1": MISSING, "a2": account.id,
              **{f"k{n}": f"t:{uuid.uuid4()}" for n in range(3)}}
    nested = db.begin_nested()
    with pytest.raises(IntegrityError):
        db.execute(three, values)
    nested.rollback()
    assert db.scalar(text("SELECT count(*) FROM billing_payment WHERE bank_account_id = :a"), {"a": account.id}) == 0
    db.execute(three, {**values, "a1": account.id})
    assert db.scalar(text("SELECT count(*) FROM billing_payment WHERE bank_account_id = :a"), {"a": account.id}) == 3


def test_a_ledger_entry_of_a_missing_payment_or_customer_is_refused(app, db, world):  # noqa: ANN001
    with app.test_request_context(), location_scope(world.loc_a.id):
        customer_id = customers.create_customer(db, kind="person", first_name="Jan", last_name="Odkaz").id
    payment_id = _payment(db, world.loc_a.id, customer=customer_id)
    entry = text("INSERT INTO billing_ledger (location_id, customer_id, account, kind, booked_on, amount, payment_id, "
                 "created_at) VALUES (:l, :c, 'receivable', 'payment', '2026-01-05', 100, :p, '2026-01-05')")
    for values, constraint in (({"c": customer_id, "p": MISSING}, "fk_billing_ledger_payment_id_billing_payment"),
                               ({"c": MISSING, "p": payment_id}, "fk_billing_ledger_customer_id_core_customer")):
        nested = db.begin_nested()
        with pytest.raises(IntegrityError) as caught:
            db.execute(entry, {"l": world.loc_a.id, **values})
        nested.rollback()
        assert _constraint(caught.value) in (None, constraint)
    db.execute(entry, {"l": world.loc_a.id, "c": customer_id, "p": payment_id})  # the right one goes in
    assert db.scalar(text("SELECT count(*) FROM billing_ledger WHERE payment_id = :p"), {"p": payment_id}) == 1


def test_a_missing_row_between_present_ones_is_found(app, db, world):  # noqa: ANN001
    # a statement referring to several rows: the one missing between present ones is found and named
    with app.test_request_context(), location_scope(world.loc_a.id):
        customer_id = customers.create_customer(db, kind="person", first_name="Eva", last_name="Mezera").id
    first, gap, last = (_payment(db, world.loc_a.id, customer=customer_id) for _ in range(3))
    db.execute(text("DELETE FROM billing_payment WHERE id = :id"), {"id": gap})
    rows = ", ".join(f"(:l, :c, 'receivable', 'payment', '2026-01-05', 100, :p{n}, '2026-01-05')" for n in range(3))
    entries = text("INSERT INTO billing_ledger (location_id, customer_id, account, kind, booked_on, amount, "
                   f"payment_id, created_at) VALUES {rows}")
    nested = db.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        db.execute(entries, {"l": world.loc_a.id, "c": customer_id, "p0": first, "p1": gap, "p2": last})
    nested.rollback()
    assert _constraint(caught.value) in (None, "fk_billing_ledger_payment_id_billing_payment")
    if ON_POSTGRES:
        assert caught.value.orig.diag.message_detail == \
            f'Key (payment_id)=({gap}) is not present in table "billing_payment".'
    assert db.scalar(text("SELECT count(*) FROM billing_ledger WHERE payment_id IN (:a, :b)"),
                     {"a": first, "b": last}) == 0


def test_a_referenced_row_is_neither_deleted_nor_renumbered(db, world, account):  # noqa: ANN001
    _payment(db, world.loc_a.id, account=account.id)
    for statement in ("DELETE FROM core_bank_account WHERE id = :id",
                      "UPDATE core_bank_account SET id = id + 1000000 WHERE id = :id"):
        nested = db.begin_nested()
        with pytest.raises(IntegrityError) as caught:
            db.execute(text(statement), {"id": account.id})
        nested.rollback()
        assert _constraint(caught.value) in (None, "fk_billing_payment_bank_account_id_core_bank_account")
    assert db.scalar(text("SELECT count(*) FROM core_bank_account WHERE id = :a"), {"a": account.id}) == 1
    # an account nobody refers to goes, and other columns of a referenced one still change
    with location_scope(world.loc_a.id):
        spare = BankAccount(label="Spare", account_number="19-123465/0800", iban="CZ1208000000190000123465")
        db.add(spare)
        db.flush()
    db.execute(text("UPDATE core_bank_account SET label = 'Renamed' WHERE id = :id"), {"id": account.id})
    db.execute(text("DELETE FROM core_bank_account WHERE id = :id"), {"id": spare.id})
    assert db.scalar(text("SELECT label FROM core_bank_account WHERE id = :a"), {"a": account.id}) == "Renamed"


@NEEDS_PG
def test_on_postgresql_the_references_are_set_checks_not_row_foreign_keys(db):  # noqa: ANN001
    keys = set(db.scalars(text(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid IN ('billing_payment'::regclass, 'billing_ledger'::regclass)")))
    replaced = {"fk_billing_payment_location_id_core_location", "fk_billing_payment_customer_id_core_customer",
                "fk_billing_payment_statement_id_billing_statement_file",
                "fk_billing_payment_bank_account_id_core_bank_account", "fk_billing_ledger_location_id_core_location",
                "fk_billing_ledger_customer_id_core_customer", "fk_billing_ledger_payment_id_billing_payment"}
    assert not keys & replaced
    # the references to users stay foreign keys (ON DELETE SET NULL, and NULL in every bulk-written row)
    assert keys == {"fk_billing_payment_created_by_id_core_user", "fk_billing_payment_matched_by_id_core_user",
                    "fk_billing_ledger_created_by_id_core_user"}
    triggers = set(db.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
    assert {"billing_payment_references_insert", "billing_payment_references_update",
            "billing_ledger_references_insert", "billing_payment_customer_id_guard",
            "billing_ledger_payment_id_guard", "billing_payment_statement_id_truncate_guard",
            "billing_ledger_invoice_id_guard", "billing_invoice_references_insert",
            "billing_invoice_line_references_insert", "billing_invoice_line_service_id_guard"} <= triggers
    run_keys = set(db.scalars(text(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid IN ('billing_invoice'::regclass, 'billing_invoice_line'::regclass)")))
    assert run_keys == {"fk_billing_invoice_created_by_id_core_user",
                        "fk_billing_invoice_original_id_billing_invoice"}


@NEEDS_PG
def test_truncating_a_referenced_table_is_refused(db, world, account):  # noqa: ANN001
    with location_scope(world.loc_a.id):
        stored = StatementFile(bank_account_id=account.id, format="gpc", filename="x.gpc", sha256="0" * 64,
                               content=b"x", account="123457")
        db.add(stored)
        db.flush()
    _payment(db, world.loc_a.id, statement=stored.id)
    nested = db.begin_nested()
    with pytest.raises(IntegrityError, match="cannot truncate"):
        db.execute(text("TRUNCATE billing_statement_file CASCADE"))
    nested.rollback()
    assert db.scalar(text("SELECT count(*) FROM billing_statement_file")) >= 1


@NEEDS_PG
def test_install_and_remove_give_the_foreign_key_back(db):  # noqa: ANN001
    """The downgrade path: the set check goes, the foreign key comes back and checks the rows again."""
    ref = [Reference("billing_payment", "bank_account_id", "core_bank_account")]
    nested = db.begin_nested()
    for statement in remove_statements("billing_payment", ref):
        db.connection().exec_driver_sql(statement.replace("%", "%%"))
    assert db.scalar(text("SELECT count(*) FROM pg_constraint WHERE conname = "
                            "'fk_billing_payment_bank_account_id_core_bank_account'")) == 1
    assert db.scalar(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'billing_payment_references_insert'")) == 0
    nested.rollback()
    with pytest.raises(ValueError, match="every reference"):
        install_statements("billing_ledger", ref)


# --- what a billing run writes (billing_0009) --------------------------------------------------------


@pytest.fixture
def billed(app, db, world):  # noqa: ANN001, ANN201
    """One invoice of one customer with one service, issued by a billing run: the ids of its rows."""
    with app.app_context(), location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        product = make_row(db, Product, price=Decimal("413.22"), vat_rate=Decimal("21"))
        customer = make_row(db, Customer)
        service = make_row(db, Service, customer_id=customer.id, product_id=product.id, class_id=product.class_id,
                           state="active", start_date=date(2024, 1, 1), activated_on=date(2024, 1, 1))
        db.commit()
        assert run_billing(db, world.loc_a, "2025-03", issued_on=date(2025, 3, 1)).invoices == 1
        invoice = db.scalar(select(Invoice).where(Invoice.customer_id == customer.id))
        entry = db.scalar(select(LedgerEntry.id).where(LedgerEntry.invoice_id == invoice.id))
        return {Invoice: invoice.id, InvoiceLine: invoice.lines[0].id, LedgerEntry: entry, Service: service.id,
                Customer: customer.id}


def _copy_with(db, model, row_id: int, **changed) -> None:  # noqa: ANN001
    """INSERT … SELECT a copy of one row with some columns changed (the statement a bulk write sends)."""
    columns = [c.name for c in model.__table__.columns if c.name != "id"]
    values = ", ".join(f":{c}" if c in changed else c for c in columns)
    db.execute(text(f"INSERT INTO {model.__tablename__} ({', '.join(columns)}) "
                    f"SELECT {values} FROM {model.__tablename__} WHERE id = :row_id"), {"row_id": row_id, **changed})


@pytest.mark.parametrize(("model", "column", "target"), [
    (InvoiceLine, "invoice_id", "billing_invoice"), (InvoiceLine, "service_id", "core_service"),
    (InvoiceLine, "product_id", "core_product"), (LedgerEntry, "invoice_id", "billing_invoice"),
    (LedgerEntry, "service_id", "core_service"), (Invoice, "customer_id", "core_customer"),
    (Invoice, "series_id", "billing_series"), (Invoice, "run_id", "billing_run"),
])
def test_a_document_row_referring_to_a_missing_row_is_refused(db, billed, model, column, target):  # noqa: ANN001
    row_id = billed[model]
    # a copy of an invoice needs its own number (and, one per customer and run, no run); a ledger copy
    # another kind (one entry per document and kind)
    unique = {Invoice: {"number": "X1", "sequence": 999_999, "run_id": None},
              LedgerEntry: {"kind": "adjustment"}}.get(model, {})
    table = model.__tablename__
    before = db.scalar(text(f"SELECT count(*) FROM {table}"))
    nested = db.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        _copy_with(db, model, row_id, **{**unique, column: MISSING})
    nested.rollback()
    constraint = f"fk_{table}_{column}_{target}"
    assert _constraint(caught.value) in (None, constraint)
    if ON_POSTGRES:
        assert caught.value.orig.diag.message_detail == f'Key ({column})=({MISSING}) is not present in table "{target}".'
    assert db.scalar(text(f"SELECT count(*) FROM {table}")) == before
    _copy_with(db, model, row_id, **unique)  # the same copy with its references intact goes in
    assert db.scalar(text(f"SELECT count(*) FROM {table}")) == before + 1


def test_a_billed_service_and_customer_cannot_be_deleted(db, billed):  # noqa: ANN001
    for statement, row_id, constraint in (
            ("DELETE FROM core_service WHERE id = :id", billed[Service], "fk_billing_invoice_line_service_id_core_service"),
            ("DELETE FROM core_customer WHERE id = :id", billed[Customer], None)):
        nested = db.begin_nested()
        with pytest.raises(IntegrityError) as caught:
            db.execute(text(statement), {"id": row_id})
        nested.rollback()
        if constraint:
            assert _constraint(caught.value) in (None, constraint)
    assert db.scalar(text("SELECT count(*) FROM core_service WHERE id = :id"), {"id": billed[Service]}) == 1
    assert db.scalar(text("SELECT count(*) FROM core_customer WHERE id = :id"), {"id": billed[Customer]}) == 1


@NEEDS_PG
def test_removing_later_set_checks_keeps_the_earlier_ones(db, billed):  # noqa: ANN001
    """billing_0009's downgrade of the ledger: its two foreign keys come back, billing_0008's checks stay."""
    from importlib import import_module

    migration = import_module("mango_billing.migrations.versions.0009_run_references")
    entry_id = billed[LedgerEntry]
    nested = db.begin_nested()
    for statement in remove_statements("billing_ledger", migration.LEDGER, migration.LEDGER_0008):
        db.connection().exec_driver_sql(statement.replace("%", "%%"))
    keys = set(db.scalars(text("SELECT conname FROM pg_constraint WHERE conrelid = 'billing_ledger'::regclass "
                               "AND contype = 'f'")))
    assert {"fk_billing_ledger_invoice_id_billing_invoice", "fk_billing_ledger_service_id_core_service"} <= keys
    assert "fk_billing_ledger_customer_id_core_customer" not in keys
    inner = db.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        _copy_with(db, LedgerEntry, entry_id, kind="adjustment", customer_id=MISSING)
    inner.rollback()
    assert _constraint(caught.value) == "fk_billing_ledger_customer_id_core_customer"  # still the set check
    nested.rollback()


# --- two real connections ----------------------------------------------------------------------------


@pytest.fixture
def committed_account(mango):  # noqa: ANN001, ANN201
    """A partner, location and bank account committed for real; removed again with their payments."""
    with Session(mango.db.engine) as s, operator_scope():
        partner = Partner(code="REFTEST", name="Ref", company_name="Ref s.r.o.")
        location = Location(partner=partner, code="REFT", name="Ref", company_name="Ref s.r.o.")
        s.add_all([partner, location])
        s.flush()
        with location_scope(location.id):
            account = BankAccount(label="Race", account_number="19-123473/0800", iban="CZ6908000000190000123473")
            s.add(account)
            s.commit()
        ids = (partner.id, location.id, account.id)
    yield ids[1], ids[2]
    with Session(mango.db.engine) as s, operator_scope():
        s.execute(delete(Payment).where(Payment.location_id == ids[1]))
        s.execute(delete(BankAccount).where(BankAccount.id == ids[2]))
        s.execute(delete(Location).where(Location.id == ids[1]))
        s.execute(delete(Partner).where(Partner.id == ids[0]))
        s.commit()


def _delete_account(mango, account_id: int, out: list) -> None:  # noqa: ANN001
    with Session(mango.db.engine) as s:
        try:
            s.execute(text("DELETE FROM core_bank_account WHERE id = :id"), {"id": account_id})
            s.commit()
            out.append("deleted")
        except IntegrityError as exc:
            s.rollback()
            out.append(_constraint(exc))


@NEEDS_PG
def test_a_delete_waits_for_an_import_in_flight_and_then_fails(mango, committed_account):  # noqa: ANN001
    location_id, account_id = committed_account
    with Session(mango.db.engine) as importer:
        _payment(importer, location_id, account=account_id)  # not committed yet
        outcome: list = []
        deleter = threading.Thread(target=_delete_account, args=(mango, account_id, outcome))
        deleter.start()
        time.sleep(0.5)
        assert outcome == []  # waits for the importing transaction
        importer.commit()
        deleter.join(30)
    assert outcome == ["fk_billing_payment_bank_account_id_core_bank_account"]
    with Session(mango.db.engine) as s:
        assert s.scalar(text("SELECT count(*) FROM core_bank_account WHERE id = :a"), {"a": account_id}) == 1


@NEEDS_PG
def test_an_import_waits_for_a_delete_in_flight_and_then_fails(mango, committed_account):  # noqa: ANN001
    location_id, account_id = committed_account
    outcome: list = []

    def insert() -> None:
        with Session(mango.db.engine) as s:
            try:
                _payment(s, location_id, account=account_id)
                s.commit()
                outcome.append("inserted")
            except IntegrityError as exc:
                s.rollback()
                outcome.append(_constraint(exc))

    with Session(mango.db.engine) as deleter:
        deleter.execute(text("DELETE FROM core_bank_account WHERE id = :id"), {"id": account_id})
        inserter = threading.Thread(target=insert)
        inserter.start()
        time.sleep(0.5)
        assert outcome == []  # waits for the deleting transaction
        deleter.commit()
        inserter.join(30)
    assert outcome == ["fk_billing_payment_bank_account_id_core_bank_account"]
    with Session(mango.db.engine) as s:
        assert s.scalar(text("SELECT count(*) FROM billing_payment WHERE location_id = :l"), {"l": location_id}) == 0


@NEEDS_PG
def test_under_repeatable_read_inserts_lock_and_deletes_are_refused(mango, committed_account):  # noqa: ANN001
    location_id, account_id = committed_account
    with Session(mango.db.engine) as s:
        s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        with pytest.raises(DBAPIError, match="only under READ COMMITTED"):
            s.execute(text("DELETE FROM core_bank_account WHERE id = :id"), {"id": account_id})
        s.rollback()
    with Session(mango.db.engine) as inserter:
        inserter.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        _payment(inserter, location_id, account=account_id)
        locked = inserter.scalar(text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND c.relname = 'core_bank_account' AND l.mode = 'RowShareLock'"))
        assert locked == 1  # FOR KEY SHARE of the referenced rows, as a foreign key would take
        inserter.rollback()


@NEEDS_PG
def test_room_for_a_large_statement_lasts_for_its_transaction_and_never_lowers(mango):  # noqa: ANN001
    raw = mango.db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()

        def work_mem() -> str:
            return cursor.execute("SHOW work_mem").fetchone()[0]

        default = work_mem()
        room_for(cursor, 10)  # 10 kB: the default is more already
        assert work_mem() == default
        room_for(cursor, 50_000)  # a large import's transition table stays in memory
        assert work_mem() == "50000kB"
        room_for(cursor, 10**9)
        assert work_mem() == "256MB"  # capped
        raw.driver_connection.rollback()
        assert work_mem() == default  # for that transaction only
        cursor.execute("SET work_mem = '300MB'")
        room_for(cursor, 10**9)
        assert work_mem() == "300MB"  # an administrator's larger setting is kept
        cursor.execute("RESET work_mem")
        raw.driver_connection.commit()
    finally:
        raw.close()
