"""Cash desk: sessions and differences, cash payments booked once, uniCredit top-up, the
append-only journal, receipts for 80 mm printers and the daily closing report."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DatabaseError

from mango_billing import ledger, prepaid
from mango_billing.models import LedgerEntry, Payment
from mango_core.tenancy.models import Location
from mango_ixpos.cashdesk import service
from mango_ixpos.cashdesk.models import CashSession, JournalEntry
from mango_ixpos.cashdesk.receipts import receipt_lines, receipt_pdf, receipt_text
from mango_ixpos.cashdesk.report import daily_report, local_today, report_text
from mango_ixpos.cashdesk.service import CashDeskError, PaymentRequest
from mango_ixpos.testing import TODAY, make_invoice


def _entries(db, customer_id: int) -> list[LedgerEntry]:  # noqa: ANN001
    return list(db.scalars(select(LedgerEntry).where(LedgerEntry.customer_id == customer_id)
                           .where(LedgerEntry.payment_id.is_not(None))))


def test_session_float_expected_counted_difference(db, register, make_customer, world):
    customer, _service = make_customer()
    for amount in ("500.00", "120.50"):
        service.take_cash(db, register.session, PaymentRequest(customer.id, amount, txn_id=service.new_txn_id()),
                          actor=world.admin_a.id)
    closed = service.close_session(db, cash_session_id=register.session.id, counted="1615.00", actor=world.admin_a.id)
    assert closed.state == "closed" and closed.open_register_id is None
    assert (closed.expected_cash, closed.counted_cash, closed.difference) == (
        Decimal("1620.50"), Decimal("1615.00"), Decimal("-5.50"))
    with pytest.raises(CashDeskError):
        service.close_session(db, cash_session_id=closed.id, counted="0")
    with pytest.raises(CashDeskError):  # no payment into a closed session
        service.take_cash(db, closed, PaymentRequest(customer.id, "1", txn_id=service.new_txn_id()))
    # a new shift may open now, and only one
    again = service.open_session(db, register_id=register.register.id, opening_float="0")
    with pytest.raises(CashDeskError, match="open session"):
        service.open_session(db, register_id=register.register.id, opening_float="0")
    assert again.state == "open"
    events = [e.event for e in db.scalars(select(JournalEntry).order_by(JournalEntry.id))]
    assert events == ["register_created", "session_opened", "cash_payment", "cash_payment", "session_closed",
                      "session_opened"]


def test_one_open_session_per_register_is_enforced_by_the_database(db, register, in_a):
    twin = CashSession(register_id=register.register.id, open_register_id=register.register.id, state="open",
                       opening_float=Decimal("0"))
    db.add(twin)
    with pytest.raises(DatabaseError):
        db.flush()
    db.rollback()


@pytest.mark.parametrize("bad", ["", "abc", "1.234", "-5", "1e30", "NaN"])
def test_bad_amounts_change_nothing(db, register, make_customer, bad):
    customer, _service = make_customer()
    before = db.scalar(select(func.count()).select_from(Payment))
    with pytest.raises(CashDeskError):
        service.take_cash(db, register.session, PaymentRequest(customer.id, bad, txn_id=service.new_txn_id()))
    assert db.scalar(select(func.count()).select_from(Payment)) == before


def test_cash_payment_books_once_and_pays_the_invoice(db, register, make_customer, world):
    customer, _service = make_customer()
    invoice = make_invoice(db, customer, "499.50", TODAY - timedelta(days=3))
    txn = service.new_txn_id()
    request = PaymentRequest(customer.id, service.round_cash(Decimal("499.50")), invoice_id=invoice.id,
                             tendered="1000", txn_id=txn)
    payment = service.take_cash(db, register.session, request, actor=world.admin_a.id)
    assert (payment.amount, payment.change, payment.state) == (Decimal("500.00"), Decimal("500.00"), "approved")
    again = service.take_cash(db, register.session, request, actor=world.admin_a.id)  # a double submit
    assert again.id == payment.id
    entries = _entries(db, customer.id)
    assert [(e.account, e.kind, e.amount) for e in entries] == [("receivable", "payment", Decimal("500.00"))]
    billing_payment = db.get(Payment, payment.billing_payment_id)
    assert billing_payment.method == "cash" and billing_payment.dedup_key == f"manual:ixpos:{txn}"
    assert ledger.open_items(db, customer.id) == []
    assert ledger.balance(db, customer.id) == Decimal("0.50")  # the rounding stays as credit


def test_unicredit_topup_goes_to_the_prepaid_account(db, register, make_customer):
    customer, _service = make_customer()
    service.take_cash(db, register.session, PaymentRequest(customer.id, "300", target="prepaid",
                                                           txn_id=service.new_txn_id()))
    assert prepaid.balance(db, customer.id) == Decimal("300.00")
    assert ledger.balance(db, customer.id) == Decimal("0.00")
    assert [(e.account, e.kind) for e in _entries(db, customer.id)] == [("prepaid", "topup")]


def test_invoice_of_another_customer_is_refused(db, register, make_customer):
    customer, _ = make_customer("A")
    other, _ = make_customer("B")
    invoice = make_invoice(db, other, "100.00", TODAY)
    with pytest.raises(CashDeskError, match="belong"):
        service.take_cash(db, register.session, PaymentRequest(customer.id, "100", invoice_id=invoice.id,
                                                               txn_id=service.new_txn_id()))


def test_cash_payment_lifts_a_debt_block_at_once(db, register, make_customer, in_a):
    from mango_billing import dunning

    customer, svc = make_customer("Dlužník")
    dunning.create_default_steps(db)
    make_invoice(db, customer, "500.00", TODAY - timedelta(days=35))
    _proposals, result = dunning.run(db, TODAY)
    assert result.blocks == 1
    db.refresh(svc)
    assert svc.state == "blocked" and {b.kind for b in svc.blocks if b.until is None} == {"debt"}
    service.take_cash(db, register.session, PaymentRequest(customer.id, "500", txn_id=service.new_txn_id()))
    db.refresh(svc)
    assert svc.state != "blocked" and {b.kind for b in svc.blocks if b.until is None} == set()


def test_journal_is_append_only_in_the_database(db, register, in_a):
    entry = db.scalar(select(JournalEntry).order_by(JournalEntry.id))
    for statement in (update(JournalEntry).where(JournalEntry.id == entry.id).values(detail="rewritten"),
                      delete(JournalEntry).where(JournalEntry.id == entry.id)):
        with pytest.raises(DatabaseError, match="append-only"):
            with db.begin_nested():
                db.execute(statement)
    with pytest.raises(DatabaseError, match="append-only"):
        with db.begin_nested():
            db.execute(text("UPDATE ixpos_journal SET detail = 'x'"))
    db.expire_all()
    assert db.get(JournalEntry, entry.id).detail == entry.detail


@pytest.mark.parametrize("width", [42, 48])
def test_receipt_text_fits_the_printer(db, register, make_customer, world, width):
    customer, _ = make_customer("Dlouhojmenný-Přehnaněpojmenovaný Zákazník s velmi dlouhým jménem")
    invoice = make_invoice(db, customer, "1234.50", TODAY)
    payment = service.take_cash(db, register.session, PaymentRequest(
        customer.id, "1235", invoice_id=invoice.id, tendered="2000", txn_id=service.new_txn_id()),
        actor=world.admin_a.id)
    lines = receipt_lines(db, payment, width)
    assert all(len(line) <= width for line in lines), [line for line in lines if len(line) > width]
    body = "\n".join(lines)
    for expected in ("Alfa Net s.r.o.", "IČO 27082440", payment.number, "Pokladna 1", "Adam Alfa", invoice.number,
                     "1 235,00 CZK", "2 000,00 CZK", "765,00 CZK", str(customer.number)):
        assert expected in body
    assert lines[3] == "=" * width or "=" * width in lines
    with pytest.raises(ValueError):
        receipt_text(db, payment, 40)


def test_receipt_pdf(db, register, make_customer):
    customer, _ = make_customer()
    payment = service.take_cash(db, register.session, PaymentRequest(customer.id, "10", txn_id=service.new_txn_id()))
    pdf = receipt_pdf(db, payment)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


def test_daily_closing_report_totals_by_method(db, register, make_customer, in_a):
    from mango_ixpos.cashdesk.models import CashPayment

    customer, _ = make_customer()
    service.take_cash(db, register.session, PaymentRequest(customer.id, "100", txn_id=service.new_txn_id()))
    service.take_cash(db, register.session, PaymentRequest(customer.id, "50.50", txn_id=service.new_txn_id()))
    card = CashPayment(txn_id="card1", session_id=register.session.id, customer_id=customer.id, method="card",
                       amount=Decimal("200.00"), state="approved", decided_at=register.session.opened_at)
    db.add(card)
    db.flush()
    service.close_session(db, cash_session_id=register.session.id, counted="1150.00")
    today = local_today(in_a.timezone)  # the report's day is the location's, not the machine's
    report = daily_report(db, in_a.id, today)
    assert (report.by_method["cash"].count, report.by_method["cash"].amount) == (2, Decimal("150.50"))
    assert (report.by_method["card"].count, report.by_method["card"].amount) == (1, Decimal("200.00"))
    assert report.total == Decimal("350.50") and report.differences == Decimal("-0.50")
    assert report.by_register == {"Pokladna 1": {"cash": Decimal("150.50"), "card": Decimal("200.00")}}
    printed = report_text(report, 42)
    assert "350,50 CZK" in printed and all(len(line) <= 42 for line in printed.splitlines())
    assert daily_report(db, in_a.id, today - timedelta(days=1)).total == Decimal("0.00")


def test_cash_refund_pays_out_of_the_drawer_once(db, register, make_customer, world):
    customer, _ = make_customer()
    make_invoice(db, customer, "400.00", TODAY)
    paid = service.take_cash(db, register.session, PaymentRequest(customer.id, "400", txn_id=service.new_txn_id()))
    assert ledger.open_items(db, customer.id) == []
    txn = service.new_txn_id()
    refund = service.start_refund(db, paid, register.session, txn, actor=world.admin_a.id)
    assert (refund.kind, refund.state, refund.signed_amount) == ("refund", "approved", Decimal("-400.00"))
    assert service.start_refund(db, paid, register.session, txn).id == refund.id  # a double submit
    with pytest.raises(CashDeskError, match="refunded already"):
        service.start_refund(db, paid, register.session, service.new_txn_id())
    with pytest.raises(CashDeskError, match="Only a paid"):
        service.start_refund(db, refund, register.session, service.new_txn_id())
    assert sorted(e.amount for e in _entries(db, customer.id)) == [Decimal("-400.00"), Decimal("400.00")]
    assert ledger.balance(db, customer.id) == Decimal("-400.00")  # the invoice is owed again
    assert service.cash_taken(db, register.session.id) == Decimal("0.00")
    text_lines = receipt_lines(db, refund, 42)
    body = "\n".join(text_lines)
    assert {"REFUND", "VRATKA"} & {line.strip() for line in text_lines}  # English or Czech by the app's state
    assert "-400,00 CZK" in body and paid.number in body
    location = db.get(Location, register.session.location_id)
    report = daily_report(db, location.id, local_today(location.timezone))
    assert (report.by_method["cash"].count, report.by_method["cash"].amount, report.refunds) == (
        1, Decimal("0.00"), 1)
