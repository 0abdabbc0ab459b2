"""Advance invoices: issuing, payments by import and by hand, tax documents, the final invoice, cancelling."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mango_billing import advances, ledger
from mango_billing.bank import BankMovement, BankStatement
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.invoices import to_document
from mango_billing.models import Advance, AdvancePayment, Invoice, LedgerEntry, Payment
from mango_billing.outputs.html import invoice_context
from mango_billing.outputs.isdoc import isdoc_xml, validate_isdoc
from mango_billing.payments import service
from mango_billing.payments.importer import import_statement
from mango_billing.periods import RatedLine
from mango_core.customers.models import Customer
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount, Location

OWN = "19-2000145399/0800"
_statements = itertools.count(1)
_n = itertools.count(810_000)
TODAY = date.today()


def customer(db) -> Customer:  # noqa: ANN001
    n = next(_n)
    c = Customer(number=n, variable_symbol=str(n), kind="person", first_name="Jana", last_name=f"Zálohová{n}",
                 display_name=f"Jana Zálohová{n}", sort_name=f"zalohova{n} jana", state="active")
    db.add(c)
    db.flush()
    return c


def line(amount: str, rate: str = "21", text: str = "Tisk letáků") -> RatedLine:
    return RatedLine(kind="one_off", description=text, amount=D(amount), vat_rate=D(rate), customer_id=0,
                     quantity=D("1"), unit="ks")


def mv(amount: str, vs: str, day: date) -> BankMovement:
    return BankMovement(bank_id=str(uuid.uuid4().int % 10**20), booked=day, amount=D(amount), currency="CZK",
                        counter_account="2400222222/2010", counter_name="Jana", variable_symbol=vs,
                        constant_symbol=None, specific_symbol=None, message=None, reversal=False)


def gpc(*movements: BankMovement) -> bytes:
    return write_gpc(BankStatement("gpc", OWN, "CZK", str(next(_statements) % 1000), None, None, D("0"), None, tuple(movements)))


@pytest.fixture
def loc(world, db):  # noqa: ANN001, ANN201
    with location_scope(world.loc_a.id):
        location = db.get(Location, world.loc_a.id)
        location.dic = "CZ27182819"
        location.vat_payer = True
        db.add(BankAccount(label="Fio", account_number=OWN, iban="CZ6508000000192000145399"))
        db.flush()
        yield location


@pytest.fixture
def xsd_dir(shared_fixtures: Path) -> Path:
    return shared_fixtures / "isdoc"


def entries(db, customer_id: int, account: str) -> list[LedgerEntry]:  # noqa: ANN001
    return list(db.scalars(select(LedgerEntry).where(LedgerEntry.customer_id == customer_id,
                                                     LedgerEntry.account == account).order_by(LedgerEntry.id)))


def per_rate(document: Invoice) -> dict[D, tuple[D, D]]:
    out: dict[D, list[D]] = defaultdict(lambda: [D("0"), D("0")])
    for ln in document.lines:
        out[ln.vat_rate][0] += ln.base
        out[ln.vat_rate][1] += ln.vat
    return {rate: (b, v) for rate, (b, v) in out.items()}


def test_issue_an_advance_invoice(db, loc, xsd_dir):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("1000.00"), line("100.00", "12", "Doprava")], source="t:1",
                                 issued_on=TODAY, due_days=7)
    doc = adv.invoice
    assert (doc.kind, doc.series.code, doc.taxable_supply_date) == ("advance", "ZF", None)
    assert doc.number == f"ZF{TODAY.year}{doc.sequence:06d}"
    assert doc.variable_symbol == doc.number[2:].lstrip("0")
    assert doc.due_date == TODAY + timedelta(days=7)
    assert (doc.total_base, doc.total_vat, doc.total) == (D("1100.00"), D("222.00"), D("1322.00"))
    assert adv.state == "open" and adv.paid == 0
    # a payment request, not a receivable: no ledger entry, no open item, balance untouched
    assert db.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.customer_id == c.id)) == 0
    assert ledger.open_items(db, c.id) == [] and ledger.balance(db, c.id) == 0
    # the same source issues nothing again
    assert advances.issue_advance(db, loc, c.id, [line("5.00")], source="t:1").id == adv.id
    second = advances.issue_advance(db, loc, c.id, [line("5.00")], source="t:2")
    assert second.invoice.sequence == doc.sequence + 1  # gapless in the ZF series
    # outputs: not a tax document, QR Platba for the total on the advance's own symbol
    document = to_document(doc).check()
    assert not document.is_tax_document and document.taxable_supply_date is None
    context = invoice_context(document)
    assert context["title"] == "Zálohová faktura" and "není daňový doklad" in context["subtitle"]
    assert "AM:1322.00" in context["spayd"] and f"X-VS:{doc.variable_symbol}" in context["spayd"]
    xml = isdoc_xml(document)
    assert validate_isdoc(xml, xsd_dir) == []
    assert b"<DocumentType>4</DocumentType>" in xml and b"TaxPointDate" not in xml


def test_bank_payment_marks_it_paid_and_issues_the_tax_document(db, loc, xsd_dir):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("1000.00"), line("100.00", "12", "Doprava")])
    doc = adv.invoice
    paid_on = TODAY - timedelta(days=2)
    data = gpc(mv("1322.00", doc.variable_symbol, paid_on))
    summary = import_statement(db, loc.id, data, "a.gpc")
    assert (summary.new, summary.matched) == (1, 1)
    payment = db.scalar(select(Payment).where(Payment.variable_symbol == doc.variable_symbol))
    assert (payment.target, payment.customer_id, payment.state) == ("advance", c.id, "matched")
    db.refresh(adv)
    assert (adv.state, adv.paid, adv.paid_on) == ("paid", D("1322.00"), paid_on)
    # the money is held on the advance, not in the receivable account
    assert advances.held(db, c.id) == D("1322.00") and ledger.balance(db, c.id) == 0
    (tax,) = advances.tax_documents(db, adv)
    assert (tax.kind, tax.series.code, tax.taxable_supply_date, tax.original_id) == (
        "advance_tax", "ZD", paid_on, doc.id)
    assert per_rate(tax) == per_rate(doc) == {D("21"): (D("1000.00"), D("210.00")), D("12"): (D("100.00"), D("12.00"))}
    assert tax.total == D("1322.00")
    assert not db.scalar(select(LedgerEntry.id).where(LedgerEntry.invoice_id == tax.id))
    document = to_document(tax).check()
    assert document.is_tax_document and document.amount_due == 0 and document.original_number == doc.number
    context = invoice_context(document)
    assert context["title"] == "Daňový doklad k přijaté platbě" and context["spayd"] == ""
    xml = isdoc_xml(document)
    assert validate_isdoc(xml, xsd_dir) == []
    assert b"<DocumentType>5</DocumentType>" in xml and paid_on.isoformat().encode() in xml
    # the same statement again, and the same payment applied again: nothing twice
    assert import_statement(db, loc.id, data, "a.gpc").new == 0
    assert advances.apply_payments(db, [payment.id]) == []
    assert len(advances.tax_documents(db, adv)) == 1 and adv.paid == D("1322.00")


def test_partial_payments_split_per_rate_and_the_last_takes_the_rest(db, loc):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("333.33"), line("77.77", "12"), line("10.01", "0")])
    doc = adv.invoice
    parts = [D("100.00"), D("0.03"), doc.total - D("100.03")]
    for i, amount in enumerate(parts):
        service.record_payment(db, location_id=loc.id, customer_id=c.id, amount=str(amount), method="cash",
                               received_on=TODAY, idempotency_key=f"k{i}-{doc.id}", actor_id=None,
                               variable_symbol=doc.variable_symbol)
        db.refresh(adv)
        assert adv.state == ("paid" if i == 2 else "open")
    taxes = advances.tax_documents(db, adv)
    assert [t.total for t in taxes] == parts
    summed: dict[D, list[D]] = defaultdict(lambda: [D("0"), D("0")])
    for tax in taxes:
        to_document(tax).check()  # each part's VAT is within a cent of its base × rate
        for rate, (b, v) in per_rate(tax).items():
            summed[rate][0] += b
            summed[rate][1] += v
    assert {r: tuple(bv) for r, bv in summed.items()} == advances.rate_grosses(doc)


def test_final_invoice_deducts_the_advance(db, loc, xsd_dir):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("1000.00")])
    doc = adv.invoice
    service.record_payment(db, location_id=loc.id, customer_id=c.id, amount="1210.00", method="bank",
                           received_on=TODAY, idempotency_key=f"f{doc.id}", actor_id=None,
                           variable_symbol=doc.variable_symbol)
    (tax,) = advances.tax_documents(db, adv)
    # the supply came out larger: 1500 + 21 %
    final = advances.settle(db, adv, lines=[line("1500.00")], issued_on=TODAY)
    assert final.kind == "invoice" and final.series.code == "FV" and final.taxable_supply_date == TODAY
    assert final.variable_symbol == c.variable_symbol
    kinds = [(ln.kind, ln.base, ln.vat) for ln in final.lines]
    assert kinds == [("one_off", D("1500.00"), D("315.00")), ("deduction", D("-1000.00"), D("-210.00"))]
    assert (final.total_base, final.total_vat, final.total) == (D("500.00"), D("105.00"), D("605.00"))
    assert tax.number in final.lines[1].description and doc.number in final.lines[1].description
    # the ledger: the held advance is used, the rest is owed; all accounts add up to payments − supply
    assert advances.held(db, c.id) == 0
    assert ledger.balance(db, c.id) == D("-605.00")
    assert [i.unpaid for i in ledger.open_items(db, c.id)] == [D("605.00")]
    total = db.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.customer_id == c.id))
    assert D(total) == D("1210.00") - D("1815.00")
    db.refresh(adv)
    assert (adv.state, adv.final_invoice_id) == ("settled", final.id)
    assert advances.settle(db, adv, lines=[line("9.00")]).id == final.id  # idempotent
    document = to_document(final).check()
    assert document.amount_due == D("605.00")
    assert validate_isdoc(isdoc_xml(document), xsd_dir) == []
    # a later payment on the advance's symbol is ordinary money of the customer now
    service.record_payment(db, location_id=loc.id, customer_id=c.id, amount="605.00", method="bank",
                           received_on=TODAY, idempotency_key=f"g{doc.id}", actor_id=None,
                           variable_symbol=doc.variable_symbol)
    assert ledger.balance(db, c.id) == 0 and ledger.open_items(db, c.id) == []


def test_advance_larger_than_the_supply_leaves_credit(db, loc):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("1000.00")])
    doc = adv.invoice
    # paid 1300: 1210 is taxed, 90 is more than the advance asked for
    import_statement(db, loc.id, gpc(mv("1300.00", doc.variable_symbol, TODAY)), "o.gpc")
    db.refresh(adv)
    (link,) = db.scalars(select(AdvancePayment).where(AdvancePayment.advance_id == adv.id))
    assert (link.amount, link.taxed) == (D("1300.00"), D("1210.00"))
    final = advances.settle(db, adv, lines=[line("800.00")])
    assert (final.total_base, final.total_vat, final.total) == (D("-200.00"), D("-42.00"), D("-242.00"))
    to_document(final).check()
    # credit = 1300 paid − 968 supplied
    assert ledger.balance(db, c.id) == D("332.00") and advances.held(db, c.id) == 0
    settlement = {(e.account, e.kind): e.amount for e in db.scalars(
        select(LedgerEntry).where(LedgerEntry.invoice_id == final.id))}
    assert settlement == {("receivable", "invoice"): D("242.00"), ("advance", "settlement"): D("-1300.00"),
                          ("receivable", "settlement"): D("90.00")}


def test_unpaid_advance_final_invoice_and_other_money(db, loc):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("100.00")])
    # the customer's own symbol pays nothing of the advance: it is receivable credit
    service.record_payment(db, location_id=loc.id, customer_id=c.id, amount="50.00", method="bank",
                           received_on=TODAY, idempotency_key=f"o{adv.id}", actor_id=None,
                           variable_symbol=c.variable_symbol)
    db.refresh(adv)
    assert adv.paid == 0 and ledger.balance(db, c.id) == D("50.00")
    final = advances.settle(db, adv)
    assert [ln.kind for ln in final.lines] == ["one_off"] and final.total == D("121.00")
    assert ledger.balance(db, c.id) == D("-71.00")


def test_non_vat_payer_has_no_tax_document(db, loc):  # noqa: ANN001
    loc.vat_payer = False
    db.flush()
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("500.00")])
    doc = adv.invoice
    assert (doc.total_vat, doc.total) == (D("0.00"), D("500.00"))
    import_statement(db, loc.id, gpc(mv("500.00", doc.variable_symbol, TODAY)), "n.gpc")
    db.refresh(adv)
    assert adv.state == "paid" and advances.tax_documents(db, adv) == []
    final = advances.settle(db, adv, lines=[line("650.00")])
    assert [(ln.kind, ln.base, ln.vat_rate) for ln in final.lines] == [
        ("one_off", D("650.00"), D("0")), ("deduction", D("-500.00"), D("0"))]
    assert final.total == D("150.00") and ledger.balance(db, c.id) == D("-150.00")
    to_document(final).check()


def test_cancel(db, loc):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("100.00")])
    doc = adv.invoice
    advances.cancel(db, adv, reason="zákazník si to rozmyslel")
    assert adv.state == "cancelled" and adv.cancel_reason == "zákazník si to rozmyslel"
    assert advances.cancel(db, adv).state == "cancelled"
    assert db.get(Invoice, doc.id).number == doc.number  # the document and its number stay
    with pytest.raises(advances.AdvanceError):
        advances.settle(db, adv)
    # a payment on a cancelled advance's symbol is the customer's ordinary money
    summary = import_statement(db, loc.id, gpc(mv("121.00", doc.variable_symbol, TODAY)), "c.gpc")
    assert summary.matched == 1 and ledger.balance(db, c.id) == D("121.00") and advances.held(db, c.id) == 0
    paid = advances.issue_advance(db, loc, c.id, [line("100.00")])
    service.record_payment(db, location_id=loc.id, customer_id=c.id, amount="1.00", method="cash",
                           received_on=TODAY, idempotency_key=f"c{paid.id}", actor_id=None,
                           variable_symbol=paid.invoice.variable_symbol)
    with pytest.raises(advances.AdvanceError, match="no payment"):
        advances.cancel(db, paid)
    assert paid.state == "open"


def test_pairing_by_hand_books_to_the_advance(db, loc):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("100.00")])
    other = customer(db)
    # paid with the symbol but from the wrong currency: stays unmatched, then paired by hand
    payment = Payment(dedup_key=f"t:{uuid.uuid4()}", method="bank", received_on=TODAY, amount=D("121.00"),
                      variable_symbol=adv.invoice.variable_symbol, state="unmatched")
    db.add(payment)
    db.flush()
    service.pair(db, location_id=loc.id, payment_id=payment.id, customer_id=c.id, actor_id=None)
    db.refresh(adv)
    assert payment.target == "advance" and adv.state == "paid" and len(advances.tax_documents(db, adv)) == 1
    # another customer's payment with this symbol is not the advance's
    stray = Payment(dedup_key=f"t:{uuid.uuid4()}", method="bank", received_on=TODAY, amount=D("5.00"),
                    variable_symbol=adv.invoice.variable_symbol, state="unmatched")
    db.add(stray)
    db.flush()
    service.pair(db, location_id=loc.id, payment_id=stray.id, customer_id=other.id, actor_id=None)
    assert stray.target == "receivable"


def test_advances_are_per_location(db, world, loc):  # noqa: ANN001
    c = customer(db)
    adv = advances.issue_advance(db, loc, c.id, [line("100.00")])
    with location_scope(world.loc_b.id):
        assert db.scalar(select(Advance).where(Advance.id == adv.id)) is None
        assert db.scalar(select(Invoice).where(Invoice.id == adv.invoice_id)) is None
