"""Billing reports, their CSV exports and charts, and the customer card's billing tabs.

The documents are built directly with the models (no billing engine): figures below are computed
by hand from this data, as of 31 March 2025.

PRG (ALFA)
  Jan  FV1 DUZP 15.11.2024 due 1.12.2024  Internet 1000 + 210 = 1210      (-1210 in the ledger)
       payment 5.1.2025 1000 (matched)                                      (+1000)
       FV2 DUZP 31.1.2025  due 14.2.2025  Internet  500 + 105 =  605      (-605)
       FV3 DUZP 31.3.2025  due 10.4.2025  TV     100.50 + 21.11 = 121.61  (-121.61)
       → FIFO: FV1 unpaid 210 (>90 days), FV2 605 (45 days), FV3 121.61 (not due); balance -936.61
  Eva  FV4 DUZP 6.3.2025   due 20.3.2025  Internet 200 + 42 (21 %) and a charge 50 + 6 (12 %) = 298
       DB1 (credit note of FV4) DUZP 10.3.2025  Internet -100 - 21 = -121   (+121)
       → FV4 unpaid 177 (11 days); uniCredit top-up 500, draw 200 → prepaid 300
  unmatched payment 15.3.2025 50.00; Eva's top-up payment 1.2.2025 500.00 cash
BRN (BETA): Olga with 1000 unpaid — never seen from PRG.
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mango_billing import ledger, reports
from mango_billing.models import Invoice, InvoiceLine, InvoiceSeries, Payment
from mango_billing.report_views import bar_chart, csv_amount
from mango_core.catalog import service as catalog
from mango_core.customers import service as customers
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post

D = Decimal
AS_OF = date(2025, 3, 31)


def text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


class Books:
    """Writes documents, lines and ledger entries of one location straight into the tables."""

    def __init__(self, db) -> None:  # noqa: ANN001
        self.db = db
        self.series = InvoiceSeries(code="FV", kind="invoice", format="FV{year}{number:04d}")
        db.add(self.series)
        db.flush()
        self.sequence = 0

    def document(self, customer, number: str, *, issued: date, due: date, lines, kind: str = "invoice",  # noqa: ANN001
                 original: Invoice | None = None, vat_payer: bool = True) -> Invoice:
        self.sequence += 1
        base = sum((b for _r, b, _v, _p in lines), D("0"))
        vat = sum((v for _r, _b, v, _p in lines), D("0"))
        doc = Invoice(kind=kind, series_id=self.series.id, year=issued.year, sequence=self.sequence, number=number,
                      customer_id=customer.id, issued_on=issued, taxable_supply_date=issued, due_date=due,
                      variable_symbol=customer.variable_symbol, total_base=base, total_vat=vat, total=base + vat,
                      uuid=str(uuid.uuid4()), original_id=original.id if original else None, vat_payer=vat_payer)
        self.db.add(doc)
        self.db.flush()
        for position, (rate, line_base, line_vat, product) in enumerate(lines, 1):
            self.db.add(InvoiceLine(invoice_id=doc.id, position=position, description=f"line {position}",
                                    product_id=product.id if product else None, unit_price=line_base,
                                    vat_rate=rate, base=line_base, vat=line_vat, total=line_base + line_vat))
        ledger.post(self.db, customer_id=customer.id, kind=kind if kind != "advance" else "invoice",
                    amount=-(base + vat), booked_on=issued, invoice_id=doc.id)
        self.db.flush()
        return doc

    def payment(self, customer, amount: str, on: date, *, method: str = "bank", target: str = "receivable",  # noqa: ANN001
                vs: str | None = None) -> Payment:
        pay = Payment(dedup_key=str(uuid.uuid4()), method=method, received_on=on, amount=D(amount),
                      variable_symbol=vs or (customer.variable_symbol if customer else None),
                      state="matched" if customer else "unmatched", customer_id=customer.id if customer else None,
                      target=target, counter_account="123456789/0800", counter_name="Platce; s.r.o.")
        self.db.add(pay)
        self.db.flush()
        if customer is not None:
            ledger.post(self.db, customer_id=customer.id, kind="topup" if target == "prepaid" else "payment",
                        account=target, amount=D(amount), booked_on=on, payment_id=pay.id)
            self.db.flush()
        return pay


@pytest.fixture
def books(app, db, world) -> SimpleNamespace:
    with app.test_request_context(), location_scope(world.loc_a.id):
        internet = catalog.create_class(db, name="Internet")
        tv = catalog.create_class(db, name="Televize")
        net = catalog.create_product(db, class_id=internet.id, name="Internet 100", code="NET100", price="499.00",
                                     valid_from=date(2020, 1, 1), location_ids=[world.loc_a.id])
        iptv = catalog.create_product(db, class_id=tv.id, name="IPTV", code="IPTV", price="199.00",
                                      valid_from=date(2020, 1, 1), location_ids=[world.loc_a.id])
        jan = customers.create_customer(db, kind="person", first_name="Jan", last_name="Novák")
        eva = customers.create_customer(db, kind="person", first_name="Eva", last_name="Dvořáková")
        b = Books(db)
        r21, r12 = D("21"), D("12")
        fv1 = b.document(jan, "FV20240001", issued=date(2024, 11, 15), due=date(2024, 12, 1),
                         lines=[(r21, D("1000.00"), D("210.00"), net)])
        b.payment(jan, "1000.00", date(2025, 1, 5))
        fv2 = b.document(jan, "FV20250001", issued=date(2025, 1, 31), due=date(2025, 2, 14),
                         lines=[(r21, D("500.00"), D("105.00"), net)])
        fv3 = b.document(jan, "FV20250002", issued=date(2025, 3, 31), due=date(2025, 4, 10),
                         lines=[(r21, D("100.50"), D("21.11"), iptv)])
        fv4 = b.document(eva, "FV20250003", issued=date(2025, 3, 6), due=date(2025, 3, 20),
                         lines=[(r21, D("200.00"), D("42.00"), net), (r12, D("50.00"), D("6.00"), None)])
        db1 = b.document(eva, "DB20250001", issued=date(2025, 3, 10), due=date(2025, 3, 24), kind="credit_note",
                         original=fv4, lines=[(r21, D("-100.00"), D("-21.00"), net)])
        b.payment(eva, "500.00", date(2025, 2, 1), method="cash", target="prepaid")
        ledger.post(db, customer_id=eva.id, kind="draw", account="prepaid", amount=D("-200.00"),
                    booked_on=date(2025, 3, 1))
        b.payment(None, "50.00", date(2025, 3, 15), vs="999")
        db.commit()
    with app.test_request_context(), location_scope(world.loc_b.id):
        olga = customers.create_customer(db, kind="person", first_name="Olga", last_name="Brněnská")
        brno = Books(db)
        brno.document(olga, "FV20250001", issued=date(2025, 3, 1), due=date(2025, 3, 15),
                      lines=[(r21, D("1000.00"), D("210.00"), None)])
        brno.payment(None, "77.00", date(2025, 3, 2), vs="1")
        db.commit()
    return SimpleNamespace(jan=jan, eva=eva, olga=olga, fv1=fv1, fv2=fv2, fv3=fv3, fv4=fv4, db1=db1, net=net,
                           iptv=iptv, internet=internet, tv=tv)


# --- the report functions -------------------------------------------------------------------------------


def test_ageing_buckets_follow_the_ledgers_fifo(db, world, books):
    with location_scope(world.loc_a.id):
        report = reports.ageing(db, AS_OF)
    rows = {r.name: r for r in report.rows}
    assert set(rows) == {"Jan Novák", "Eva Dvořáková"}
    jan, eva = rows["Jan Novák"], rows["Eva Dvořáková"]
    assert (jan.not_due, jan.d1_30, jan.d31_60, jan.d61_90, jan.over_90) == (
        D("121.61"), D("0.00"), D("605.00"), D("0.00"), D("210.00"))
    assert (eva.not_due, eva.d1_30, eva.d31_60, eva.d61_90, eva.over_90) == (
        D("0.00"), D("177.00"), D("0.00"), D("0.00"), D("0.00"))
    assert report.totals == {"not_due": D("121.61"), "d1_30": D("177.00"), "d31_60": D("605.00"),
                             "d61_90": D("0.00"), "over_90": D("210.00")}
    assert report.total == D("1113.61")
    with location_scope(world.loc_a.id):
        # the same as the ledger's own open items and balance
        assert jan.total == -ledger.balance(db, books.jan.id) == D("936.61")
        assert sum(i.unpaid for i in ledger.open_items(db, books.eva.id)) == eva.total
        # as of a day before FV3 and the credit note: only what was booked by then
        earlier = reports.ageing(db, date(2025, 3, 7))
    assert {r.name: r.total for r in earlier.rows} == {"Jan Novák": D("815.00"), "Eva Dvořáková": D("298.00")}
    # FV1 was 96 days overdue on 7 March, FV2 21 days; FV4 not yet due and not yet credited
    assert earlier.totals == {"not_due": D("298.00"), "d1_30": D("605.00"), "d31_60": D("0.00"),
                              "d61_90": D("0.00"), "over_90": D("210.00")}


def test_ageing_in_sql_equals_open_items_of_the_ledger_on_random_books(app, db, world):
    """Random debts, payments, refunds and credit notes: the SQL FIFO is the ledger's FIFO."""
    rnd = random.Random(20250331)
    with app.test_request_context(), location_scope(world.loc_a.id):
        b = Books(db)
        people = [customers.create_customer(db, kind="person", first_name="P", last_name=f"Test{i}")
                  for i in range(4)]
        for n in range(60):
            who = rnd.choice(people)
            day = date(2024, 6, 1) + timedelta(days=rnd.randrange(300))
            cents = D(rnd.randrange(1, 200000)) / 100
            roll = rnd.random()
            if roll < 0.5:
                b.document(who, f"R{n}", issued=day, due=day + timedelta(days=rnd.choice([0, 14, 30])),
                           lines=[(D("21"), cents, D("0.00"), None)])
            elif roll < 0.8:
                b.payment(who, str(cents), day)
            else:
                ledger.post(db, customer_id=who.id, kind=rnd.choice(["refund", "adjustment"]), amount=-cents,
                            booked_on=day)
        db.flush()
        as_of = date(2025, 6, 1)
        report = reports.ageing(db, as_of)
        got = {r.customer_id: r for r in report.rows}
        for person in people:
            items = ledger.open_items(db, person.id)
            expected = dict.fromkeys(reports.BUCKETS, D("0.00"))
            for item in items:
                days = item.overdue_days(as_of)
                key = ("not_due" if days == 0 else "d1_30" if days <= 30 else "d31_60" if days <= 60
                       else "d61_90" if days <= 90 else "over_90")
                expected[key] += item.unpaid
            row = got.get(person.id)
            assert {k: (row.bucket(k) if row else D("0.00")) for k in reports.BUCKETS} == expected


def test_revenue_by_month_product_and_class(db, world, books):
    with location_scope(world.loc_a.id):
        by_month = reports.revenue(db, date(2024, 11, 1), AS_OF, "month")
        by_product = reports.revenue(db, date(2024, 11, 1), AS_OF, "product")
        by_class = reports.revenue(db, date(2024, 11, 1), AS_OF, "class")
        march = reports.revenue(db, date(2025, 3, 1), AS_OF, "month")
    assert [(r.key, r.base, r.vat, r.total, r.lines) for r in by_month.rows] == [
        ("2024-11", D("1000.00"), D("210.00"), D("1210.00"), 1),
        ("2025-01", D("500.00"), D("105.00"), D("605.00"), 1),
        ("2025-03", D("250.50"), D("48.11"), D("298.61"), 4),
    ]
    assert by_month.base == by_product.base == by_class.base == D("1750.50")
    assert [(r.label, r.base) for r in by_product.rows] == [
        ("NET100 Internet 100", D("1600.00")), ("IPTV IPTV", D("100.50")), ("", D("50.00"))]
    assert [(r.label, r.base, r.vat) for r in by_class.rows] == [
        ("Internet", D("1600.00"), D("336.00")), ("Televize", D("100.50"), D("21.11")), ("", D("50.00"), D("6.00"))]
    assert [r.key for r in march.rows] == ["2025-03"]


def test_vat_summary_per_rate_and_return_lines(db, world, books):
    with location_scope(world.loc_a.id):
        summary = reports.vat_summary(db, date(2025, 3, 1), AS_OF)
        january = reports.vat_summary(db, date(2025, 1, 1), date(2025, 1, 31))
    assert [(r.rate, r.line, r.base, r.vat, r.documents) for r in summary.rows] == [
        (D("21.00"), "1", D("200.50"), D("42.11"), 3), (D("12.00"), "2", D("50.00"), D("6.00"), 1)]
    assert summary.line("1") == (D("201"), D("42"))  # 200.50 rounds half up to 201
    assert summary.line("2") == (D("50"), D("6"))
    assert summary.documents == 3 and summary.non_payer_total == D("0.00")
    assert [(r.base, r.vat) for r in january.rows] == [(D("500.00"), D("105.00"))]
    assert reports.return_line(D("15")) == "2" and reports.return_line(D("0")) == ""


def test_payments_journal_filters_and_totals(db, world, books):
    with location_scope(world.loc_a.id):
        journal = reports.payments_journal(db, date(2025, 1, 1), AS_OF)
        unmatched = reports.payments_journal(db, date(2025, 1, 1), AS_OF, state="unmatched")
        cash = reports.payments_journal(db, date(2025, 1, 1), AS_OF, method="cash")
        cut = reports.payments_journal(db, date(2025, 1, 1), AS_OF, limit=1)
    assert [(r.received_on, r.amount, r.state, r.customer_name) for r in journal.rows] == [
        (date(2025, 1, 5), D("1000.00"), "matched", "Jan Novák"),
        (date(2025, 2, 1), D("500.00"), "matched", "Eva Dvořáková"),
        (date(2025, 3, 15), D("50.00"), "unmatched", None)]
    assert journal.count == 3 and journal.total == D("1550.00")
    assert journal.by_state == {"matched": (2, D("1500.00")), "unmatched": (1, D("50.00"))}
    assert journal.by_method == {"bank": (2, D("1050.00")), "cash": (1, D("500.00"))}
    assert [r.amount for r in unmatched.rows] == [D("50.00")] and cash.total == D("500.00")
    assert len(cut.rows) == 1 and cut.count == 3 and cut.total == D("1550.00")


def test_bad_report_parameters_raise_the_reports_error(db, world):
    with location_scope(world.loc_a.id):
        with pytest.raises(reports.ReportError, match="before its start"):
            reports.revenue(db, AS_OF, date(2025, 1, 1))
        with pytest.raises(reports.ReportError, match="grouped by"):
            reports.revenue(db, date(2025, 1, 1), AS_OF, "customer")
        with pytest.raises(reports.ReportError, match="unknown payment state"):
            reports.payments_journal(db, date(2025, 1, 1), AS_OF, state="lost")
        with pytest.raises(reports.ReportError, match="at most"):
            reports.vat_summary(db, date(1990, 1, 1), AS_OF)


def test_reports_of_another_location_are_empty(db, world, books):
    with location_scope(world.loc_b.id):
        assert [r.name for r in reports.ageing(db, AS_OF).rows] == ["Olga Brněnská"]
        assert reports.revenue(db, date(2025, 1, 1), AS_OF).base == D("1000.00")
        assert reports.payments_journal(db, date(2025, 1, 1), AS_OF).total == D("77.00")
    with location_scope(world.loc_a2.id):
        assert reports.ageing(db, AS_OF).rows == []
        assert reports.vat_summary(db, date(2025, 1, 1), AS_OF).rows == []


@given(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_csv_amounts_use_a_decimal_comma_and_read_back_exactly(value):
    written = csv_amount(value)
    assert "." not in written and " " not in written
    assert D(written.replace(",", ".")) == value


@given(st.lists(st.tuples(st.text(max_size=12), st.decimals(min_value=-10**9, max_value=10**9, places=2,
                                                            allow_nan=False, allow_infinity=False)), max_size=15))
def test_bar_chart_draws_any_values(bars):
    svg = str(bar_chart(bars, title="<t>", chart_id="c"))
    if bars:
        assert svg.startswith("<svg") and svg.count('class="bar"') == len(bars) and "<t>" not in svg
    else:
        assert svg == ""


# --- the report pages -------------------------------------------------------------------------------


def test_report_pages_show_figures_and_charts(client, world, books):
    enter(client, world, world.loc_a)
    home = text(client.get("/"))
    assert 'data-menu="billing_reports.index"' in home and 'data-menu="billing_plans.index"' in home
    for path in ("/billing/reports/", "/billing/reports/ageing", "/billing/reports/revenue", "/billing/reports/vat",
                 "/billing/reports/payments"):  # default parameters: today, this year, last month, this month
        assert client.get(path).status_code == 200, path
    page = text(client.get("/billing/reports/ageing?as_of=2025-03-31"))
    assert "Stárnutí pohledávek" in page and 'id="chart-ageing"' in page and "<svg" in page
    assert re.search(r'data-total="over_90">210,00\xa0Kč', page)
    assert "Olga" not in page
    page = text(client.get("/billing/reports/revenue?from=2024-11-01&to=2025-03-31&group=month"))
    assert 'id="chart-revenue"' in page and page.count('class="bar"') == 3 and "1\xa0750,50\xa0Kč" in page
    page = text(client.get("/billing/reports/revenue?from=2024-11-01&to=2025-03-31&group=class"))
    assert "Televize" in page and "Bez produktu" in page and 'id="chart-revenue"' not in page
    page = text(client.get("/billing/reports/vat?from=2025-03-01&to=2025-03-31"))
    assert re.search(r'data-line="1">.*?<td class="text-end">201</td><td class="text-end">42</td>', page)
    page = text(client.get("/billing/reports/payments?from=2025-01-01&to=2025-03-31&state=unmatched"))
    assert 'id="journal-count">1<' in page and "50,00\xa0Kč" in page
    bad = client.get("/billing/reports/revenue?from=2025-13-01")
    assert bad.status_code == 400 and "2025-13-01 není datum" in text(bad)
    bad = client.get("/billing/reports/payments?from=2025-03-01&to=2025-01-01")
    assert bad.status_code == 400 and 'id="report-error"' in text(bad)
    assert client.get("/billing/reports/payments?method=barter").status_code == 400


def test_csv_exports_for_accounting(client, world, books):
    enter(client, world, world.loc_a)
    resp = client.get("/billing/reports/ageing.csv?as_of=2025-03-31")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "saldokonto-2025-03-31.csv" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Číslo zákazníka;Zákazník;Do splatnosti;1–30 dnů;31–60 dnů;61–90 dnů;Nad 90 dnů;Celkem"
    assert f"{books.eva.number};Eva Dvořáková;0,00;177,00;0,00;0,00;0,00;177,00" in lines
    assert f"{books.jan.number};Jan Novák;121,61;0,00;605,00;0,00;210,00;936,61" in lines
    assert ";Celkem;121,61;177,00;605,00;0,00;210,00;1113,61" in lines
    vat = client.get("/billing/reports/vat.csv?from=2025-03-01&to=2025-03-31").get_data().decode("utf-8-sig")
    assert vat.split("\r\n")[1:3] == ["1;21;200,50;42,11;201;42;3", "2;12;50,00;6,00;50;6;1"]
    revenue = client.get("/billing/reports/revenue.csv?from=2024-11-01&to=2025-03-31&group=month")
    assert "2025-03;2025-03;250,50;48,11;298,61;4" in revenue.get_data().decode("utf-8-sig").split("\r\n")
    pay = client.get("/billing/reports/payments.csv?from=2025-01-01&to=2025-03-31").get_data().decode("utf-8-sig")
    rows = pay.split("\r\n")
    assert rows[0].startswith("Datum;Částka;Měna;Způsob;Stav;VS")
    # a semicolon inside a value is quoted, so the columns stay in place
    assert rows[1] == (f'05.01.2025;1000,00;CZK;bank;matched;{books.jan.variable_symbol};;;123456789/0800;'
                       f'"Platce; s.r.o.";;{books.jan.number};Jan Novák;receivable')
    assert len([r for r in rows if r]) == 4


def enable_billing(db, location) -> None:  # noqa: ANN001
    """The world enables modules in PRG only; BRN gets billing here (KLA stays without it)."""
    from mango_core.tenancy import operator_scope
    from mango_core.tenancy.models import LocationModule

    with operator_scope():
        db.add(LocationModule(location_id=location.id, module="billing"))
        db.commit()


def test_report_permissions_locations_and_module(app, client, db, world, books):
    enable_billing(db, world.loc_b)
    enter(client, world, world.loc_a, world.clerk_a)
    for path in ("/billing/reports/", "/billing/reports/ageing", "/billing/reports/vat.csv"):
        assert client.get(path).status_code == 403, path
    client = app.test_client()
    enter(client, world, world.loc_b, world.admin_b)
    page = text(client.get("/billing/reports/ageing?as_of=2025-03-31"))
    assert "Olga Brněnská" in page and "Jan Novák" not in page
    assert "Jan" not in client.get("/billing/reports/payments.csv?from=2025-01-01&to=2025-03-31").get_data(
        as_text=True)


def test_billing_pages_answer_404_where_the_module_is_off(app, client, db, world, books):
    with app.test_request_context(), location_scope(world.loc_a2.id):
        karel = customers.create_customer(db, kind="person", first_name="Karel", last_name="Kladenský")
        db.commit()
    enter(client, world, world.loc_a2)  # KLA: billing is not enabled there
    card = text(client.get(f"/customers/{karel.id}"))
    assert "Karel Kladenský" in card and "billing-balance-panel" not in card and "billing_invoices" not in card
    assert client.get(f"/customers/{karel.id}?tab=billing_payments").status_code == 404
    assert client.get("/billing/reports/ageing").status_code == 404
    assert client.get("/billing/plans/").status_code == 404
    assert 'data-menu="billing_reports.index"' not in text(client.get("/"))


# --- the customer card --------------------------------------------------------------------------------


def test_card_panel_and_invoices_tab(client, world, books):
    enter(client, world, world.loc_a)
    card = text(client.get(f"/customers/{books.jan.id}"))
    assert 'id="billing-balance-panel"' in card and 'data-amount="-936.61"' in card
    assert 'data-tab="billing_invoices"' in card and 'data-tab="billing_payments"' in card
    page = text(client.get(f"/customers/{books.jan.id}?tab=billing_invoices"))
    states = dict(re.findall(r'data-invoice="(\d+)" data-state="(\w+)"', page))
    assert states == {str(books.fv1.id): "partial", str(books.fv2.id): "unpaid", str(books.fv3.id): "unpaid"}
    assert f'href="/billing/invoices/{books.fv1.id}"' in page and 'id="invoices-balance" data-amount="-936.61"' in page
    page = text(client.get(f"/customers/{books.eva.id}?tab=billing_invoices"))
    states = dict(re.findall(r'data-invoice="(\d+)" data-state="(\w+)"', page))
    assert states == {str(books.fv4.id): "partial", str(books.db1.id): "credit"}


def test_card_payments_tab_has_a_running_balance(client, world, books):
    enter(client, world, world.loc_a)
    page = text(client.get(f"/customers/{books.jan.id}?tab=billing_payments"))
    running = re.findall(r'data-entry="\d+" data-running="([-\d.]+)"', page)
    assert running == ["-936.61", "-815.00", "-210.00", "-1210.00"]  # newest first
    assert 'data-payment="' in page and "1\xa0000,00\xa0Kč" in page
    page = text(client.get(f"/customers/{books.eva.id}?tab=billing_payments&account=prepaid"))
    assert re.findall(r'data-running="([-\d.]+)"', page) == ["300.00", "500.00"]
    assert 'id="payments-prepaid" data-amount="300.00"' in page


def test_card_tabs_need_their_permissions_and_the_module(app, client, world, books, db):
    from mango_core.auth.models import RolePermission

    with location_scope(world.loc_a.id):
        world.clerk_role_a.permissions.append(RolePermission(permission="core.customers.view"))
        db.commit()
    enter(client, world, world.loc_a, world.clerk_a)
    card = text(client.get(f"/customers/{books.jan.id}"))
    assert "Jan Novák" in card and "billing-balance-panel" not in card and "billing_invoices" not in card
    assert client.get(f"/customers/{books.jan.id}?tab=billing_invoices").status_code == 404
    client = app.test_client()
    enable_billing(db, world.loc_b)
    enter(client, world, world.loc_b, world.admin_b)
    assert client.get(f"/customers/{books.jan.id}?tab=billing_invoices").status_code == 404
    assert 'data-tab="billing_invoices"' in text(client.get(f"/customers/{books.olga.id}"))
