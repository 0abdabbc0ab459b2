"""CDR import into usage records, rating of a period with free minutes, counters from plugins, the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from mango_billing.models import UsageRecord
from mango_billing.usage.cdr import CdrError
from mango_billing.usage.pricelist import PriceList, Rounding, rows_from
from mango_billing.usage.store import (
    UsageError,
    collect_counters,
    import_cdr,
    rate_period,
    save_price_list,
    set_product_usage,
    statement_rows,
    store_counters,
)
from mango_core.catalog import service as catalog
from mango_core.customers import service as customers
from mango_core.params import ParamDef
from mango_core.services import service as services
from mango_core.tenancy import location_scope
from mango_example import plugin as example_plugin


def line(uid: str, src: str, dst: str, start: str, billsec: int, disposition: str = "ANSWERED") -> str:
    answer = start if disposition == "ANSWERED" else ""
    return (f'"{src}","{src}","{dst}","from-internal","""Jan"" <{src}>","SIP/1-1","SIP/2-2","Dial","SIP/x",'
            f'"{start}","{answer}","{start}",{billsec + 5},{billsec},"{disposition}","DOCUMENTATION","{uid}",""')


@pytest.fixture
def voip(app, db, world):
    with app.test_request_context(), location_scope(world.loc_a.id):
        cls = catalog.create_class(db, name="VoIP", kind="other", params=[
            ParamDef("phone_number", "Phone number", "text", required=True)])
        product = catalog.create_product(db, class_id=cls.id, name="Telefon", code="VOIP1", price="100.00",
                                         vat_rate="21", valid_from=date(2020, 1, 1), location_ids=[world.loc_a.id])
        customer = customers.create_customer(db, kind="person", first_name="Jan", last_name="Novák")
        service = services.create_service(db, customer_id=customer.id, product_id=product.id,
                                          params={"phone_number": "+420 212 345 678"}, start_date=date(2026, 1, 1))
        pricelist = PriceList(name="Basic", rows=rows_from([("420", "Czech Republic", "1.20"),
                                                            ("4206", "Czech mobile", "2.40")]),
                              rounding=Rounding.parse("per-minute"))
        record = save_price_list(db, code="BASIC", name="Basic", pricelist=pricelist)
        set_product_usage(db, product.id, price_list_id=record.id, free_minutes=2,
                          unit_prices={"GB": "10.00"}, free_units={"GB": "5"})
        db.flush()
        yield service


CDR = "\n".join([
    line("1700000001.1", "212345678", "603123456", "2026-03-02 10:00:00", 61),   # 2 min, mobile
    line("1700000001.2", "212345678", "221000000", "2026-03-03 10:00:00", 30),   # 1 min, fixed
    line("1700000001.3", "212345678", "221000000", "2026-03-04 10:00:00", 130),  # 3 min, fixed
    line("1700000001.4", "212345678", "221000000", "2026-03-05 10:00:00", 0, "NO ANSWER"),
    line("1700000001.5", "299999999", "221000000", "2026-03-05 11:00:00", 10),   # not our number
    line("1700000001.6", "212345678", "0044207", "2026-03-06 11:00:00", 10),     # no prefix matches
]).encode()


def test_a_cdr_file_is_stored_once_and_rated_with_free_minutes(db, world, voip):
    with location_scope(world.loc_a.id):
        first = import_cdr(db, CDR)
        assert (first.new, first.duplicates, sorted(set(first.unknown))) == (5, 0, ["299999999"])
        again = import_cdr(db, CDR)
        assert (again.new, again.duplicates) == (0, 5)
        assert len(db.scalars(select(UsageRecord)).all()) == 5

        summary = rate_period(db, date(2026, 3, 1), date(2026, 4, 1))
        # per-minute rounding: 2 + 1 + 3 minutes; the first 2 (the mobile call) are free, then
        # 1 min × 1.20 and 3 min × 1.20; the unanswered call costs 0; the foreign call matches nothing
        prices = {r.key.split("/")[0]: r.price for r in db.scalars(select(UsageRecord))}
        assert prices["1700000001.1"] == Decimal("0.00")
        assert prices["1700000001.2"] == Decimal("1.20")
        assert prices["1700000001.3"] == Decimal("3.60")
        assert prices["1700000001.4"] == Decimal("0.00")
        assert prices["1700000001.6"] is None
        assert summary.total == Decimal("4.80")
        assert summary.unpriced == 1 and "match no prefix" in summary.problems[0]

        # rating again gives the same prices (it starts from the stored calls)
        again = rate_period(db, date(2026, 3, 1), date(2026, 4, 1))
        assert again.total == summary.total


def test_the_statement_lists_the_invoiced_calls(db, world, voip):
    with location_scope(world.loc_a.id):
        import_cdr(db, CDR)
        rate_period(db, date(2026, 3, 1), date(2026, 4, 1))
        assert statement_rows(db, invoice_id=999999) == []
        record = db.scalars(select(UsageRecord).order_by(UsageRecord.started_at)).first()
        detail = record.detail
        assert detail["destination_name"] == "Czech mobile" and detail["free_seconds"] == 120


def test_a_bad_cdr_file_stores_nothing(db, world, voip):
    bad = CDR + b"\n" + b'"212345678","x"'
    with location_scope(world.loc_a.id):
        with pytest.raises(CdrError, match="line 7"):
            import_cdr(db, bad)
        assert db.scalars(select(UsageRecord)).all() == []


def test_counters_are_stored_once_and_priced_beyond_the_free_units(db, world, voip, mango):
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    example_plugin.USAGE_COUNTERS[:] = [
        {"service_id": voip.id, "key": "2026-03-10", "quantity": Decimal("3.5"), "unit": "GB",
         "description": "Data", "started_at": at},
        {"service_id": voip.id, "key": "2026-03-11", "quantity": Decimal("4"), "unit": "GB",
         "description": "Data", "started_at": at.replace(day=11)},
    ]
    try:
        with location_scope(world.loc_a.id):
            assert collect_counters(db, mango, world.loc_a.id, date(2026, 3, 1), date(2026, 4, 1)) == 2
            assert collect_counters(db, mango, world.loc_a.id, date(2026, 3, 1), date(2026, 4, 1)) == 0
            summary = rate_period(db, date(2026, 3, 1), date(2026, 4, 1))
            # 5 GB free: 3.5 free on the first day, 1.5 free + 2.5 × 10.00 on the second
            assert summary.total == Decimal("25.00")
    finally:
        example_plugin.USAGE_COUNTERS.clear()


def test_counters_are_checked(db, world, voip):
    with location_scope(world.loc_a.id), pytest.raises(UsageError, match="without key"):
        store_counters(db, "example", [{"service_id": voip.id, "quantity": Decimal(1), "unit": "GB",
                                        "description": "x", "started_at": datetime.now(UTC)}])


def test_cli_imports_and_rates(app, db, world, voip, tmp_path):
    from mango_billing.usage.commands import cdr, usage

    path = tmp_path / "Master.csv"
    path.write_bytes(CDR)
    runner = app.test_cli_runner()
    result = runner.invoke(cdr, ["import", str(path), "--location", "PRG", "--json"])
    assert result.exit_code == 0, result.output
    assert '"new": 5' in result.output and '"unknown_numbers": ["299999999"]' in result.output
    result = runner.invoke(usage, ["rate", "--location", "PRG", "--period", "2026-03"])
    assert result.exit_code == 0, result.output
    assert "total 4.80" in result.output
    result = runner.invoke(usage, ["rate", "--location", "PRG", "--period", "2026-13"])
    assert result.exit_code != 0 and "YYYY-MM" in result.output
    result = runner.invoke(cdr, ["import", str(path), "--location", "NOPE"])
    assert result.exit_code != 0 and "no location with code" in result.output


def test_a_run_rates_the_calls_bills_the_priced_ones_and_attaches_the_statement(app, db, world, voip):
    from mango_billing.invoices import to_document
    from mango_billing.models import Invoice
    from mango_billing.run import run_billing

    with app.app_context(), location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        voip.state, voip.activated_on = "active", date(2026, 1, 1)
        import_cdr(db, CDR)
        db.commit()
        preview = run_billing(db, world.loc_a, "2026-04", dry_run=True, issued_on=date(2026, 4, 1))
        assert preview.invoices == 1
        # the dry run priced the calls only for its computation
        assert all(r.price is None for r in db.scalars(select(UsageRecord)))

        result = run_billing(db, world.loc_a, "2026-04", issued_on=date(2026, 4, 1))
        invoice = db.scalar(select(Invoice).where(Invoice.customer_id == voip.customer_id))
        usage = [line for line in invoice.lines if line.kind == "usage"]
        assert sum(line.base for line in usage) == Decimal("4.80")
        # the call that matches no prefix is neither billed nor free: it waits, reported
        waiting = db.scalars(select(UsageRecord).where(UsageRecord.invoice_id.is_(None))).all()
        assert [r.key.split("/")[0] for r in waiting] == ["1700000001.6"] and waiting[0].price is None
        assert any("match no prefix" in p for p in result.usage_problems)
        document = to_document(invoice)
        assert [row.counterpart for row in document.statement] == ["420603123456", "420221000000",
                                                                  "420221000000", "420221000000"]
        assert sum(row.amount for row in document.statement) == Decimal("4.80")
        document.check()
