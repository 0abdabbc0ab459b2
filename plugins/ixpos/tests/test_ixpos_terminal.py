"""Card payments through the terminal simulator (a real subprocess on a loopback port) with faults:
timeout after approval, disconnect mid-transaction, declined card, duplicate response. Whatever
happens, the card is charged once and the ledger gets exactly one entry per approved payment."""

from __future__ import annotations

import socket
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mango_billing import ledger
from mango_billing.models import LedgerEntry, Payment
from mango_ixpos.cashdesk import service
from mango_ixpos.cashdesk.models import CashPayment, JournalEntry
from mango_ixpos.cashdesk.service import PaymentRequest
from mango_ixpos.cashdesk.terminals import driver_for
from mango_ixpos.terminal.driver import TerminalUnavailable
from mango_ixpos.terminal.protocol import FrameReader, Message, ProtocolError, encode
from mango_ixpos.terminal.tcp import TcpTerminal
from mango_ixpos.testing import TODAY, make_invoice

FAST = {"terminal_connect_timeout": 2.0, "terminal_ack_timeout": 2.0, "terminal_result_timeout": 0.8,
        "terminal_status_timeout": 2.0}


@pytest.fixture
def card_desk(db, in_a, world, simulator):  # noqa: ANN001, ANN201
    """``card_desk(*simulator_args)``: a register whose terminal is a fresh simulator, with an open session."""
    made = []

    def make(*args: str):  # noqa: ANN202
        sim = simulator(*args)
        reg = service.create_register(db, name=f"Karta {len(made) + 1}", terminal_host="127.0.0.1",
                                      terminal_port=str(sim.port))
        cash_session = service.open_session(db, register_id=reg.id, opening_float="0")
        db.commit()
        made.append(reg)
        return sim, reg, cash_session

    return make


def _ledger_payments(db, customer_id: int) -> list[LedgerEntry]:  # noqa: ANN001
    return list(db.scalars(select(LedgerEntry).where(LedgerEntry.customer_id == customer_id,
                                                     LedgerEntry.payment_id.is_not(None))))


def _pay_by_card(db, cash_session, customer, amount: str = "500.00", **kw):  # noqa: ANN001, ANN202
    payment = service.start_card(db, cash_session, PaymentRequest(customer.id, amount, txn_id=service.new_txn_id(),
                                                                  **kw))
    db.commit()  # stored before the terminal hears of it
    assert payment.state == "pending"
    driver = driver_for(cash_session.register, FAST)
    try:
        service.charge_card(db, payment, driver)
    finally:
        driver.close()
    db.commit()
    return payment


def _terminal_charges(port: int) -> int:
    driver = TcpTerminal("127.0.0.1", port)
    try:
        return driver.status().approved_count
    finally:
        driver.close()


def test_approved_card_payment_is_booked_at_once(db, card_desk, make_customer):
    sim, _reg, cash_session = card_desk()
    customer, _ = make_customer()
    invoice = make_invoice(db, customer, "500.00", TODAY)
    payment = _pay_by_card(db, cash_session, customer, invoice_id=invoice.id)
    assert (payment.state, payment.card, payment.auth_code) == ("approved", "************4242", "A00001")
    assert [e.amount for e in _ledger_payments(db, customer.id)] == [Decimal("500.00")]
    assert db.get(Payment, payment.billing_payment_id).method == "card"
    assert ledger.open_items(db, customer.id) == []
    assert _terminal_charges(sim.port) == 1


def test_timeout_after_approval_is_recovered_by_last_transaction(db, card_desk, make_customer):
    sim, _reg, cash_session = card_desk("--fault", "timeout-after-approval")
    customer, _ = make_customer()
    payment = _pay_by_card(db, cash_session, customer)
    assert payment.state == "unknown" and "no answer" in payment.error
    assert _ledger_payments(db, customer.id) == []  # not booked while unknown
    assert _terminal_charges(sim.port) == 1  # but the card was charged
    # a reconcile asks the terminal for its record of the transaction id and books it, once
    for _round in range(2):
        driver = driver_for(cash_session.register, FAST)
        service.reconcile(db, payment, driver)
        driver.close()
        db.commit()
    assert payment.state == "approved" and payment.auth_code == "A00001"
    assert [e.amount for e in _ledger_payments(db, customer.id)] == [Decimal("500.00")]
    assert _terminal_charges(sim.port) == 1
    events = list(db.scalars(select(JournalEntry.event).where(JournalEntry.payment_id == payment.id)
                             .order_by(JournalEntry.id)))
    assert events == ["card_pending", "card_unknown", "card_reconciled"]


def test_disconnect_mid_transaction_then_reconcile_job(db, card_desk, make_customer, in_a, mango):
    sim, _reg, cash_session = card_desk("--fault", "disconnect-mid-transaction")
    customer, _ = make_customer()
    payment = _pay_by_card(db, cash_session, customer, "250.00")
    assert payment.state == "unknown"
    counts = service.reconcile_all(db, lambda register: driver_for(register, FAST))
    db.commit()
    assert counts["approved"] == 1 and payment.state == "approved"
    assert service.reconcile_all(db, lambda register: driver_for(register, FAST)) == {
        "approved": 0, "declined": 0, "unknown": 0}
    assert [e.amount for e in _ledger_payments(db, customer.id)] == [Decimal("250.00")]
    assert _terminal_charges(sim.port) == 1


def test_disconnect_before_approval_means_not_charged(db, card_desk, make_customer):
    sim, _reg, cash_session = card_desk("--fault", "disconnect-before-approval")
    customer, _ = make_customer()
    payment = _pay_by_card(db, cash_session, customer)
    assert payment.state == "unknown"
    driver = driver_for(cash_session.register, FAST)
    service.reconcile(db, payment, driver)
    driver.close()
    assert payment.state == "declined" and "no record" in payment.error
    assert _ledger_payments(db, customer.id) == [] and _terminal_charges(sim.port) == 0
    # the clerk tries again with a new transaction: charged and booked once
    second = _pay_by_card(db, cash_session, customer)
    assert second.state == "approved"
    assert len(_ledger_payments(db, customer.id)) == 1 and _terminal_charges(sim.port) == 1


def test_declined_card_books_nothing(db, card_desk, make_customer):
    sim, _reg, cash_session = card_desk("--fault", "decline")
    customer, _ = make_customer()
    payment = _pay_by_card(db, cash_session, customer)
    assert payment.state == "declined" and payment.error == "card declined"
    assert payment.billing_payment_id is None and _ledger_payments(db, customer.id) == []
    assert _terminal_charges(sim.port) == 0


def test_duplicate_response_is_taken_once_and_not_mistaken_for_the_next(db, card_desk, make_customer):
    sim, reg, cash_session = card_desk("--fault", "duplicate-response")
    customer, _ = make_customer()
    # one driver (one connection) for both payments: the second must skip the first one's duplicate
    driver = driver_for(reg, FAST)
    payments = []
    for amount in ("100.00", "200.00"):
        payment = service.start_card(db, cash_session, PaymentRequest(customer.id, amount,
                                                                       txn_id=service.new_txn_id()))
        db.commit()
        service.charge_card(db, payment, driver)
        db.commit()
        payments.append(payment)
    # the duplicate answer applied again changes nothing
    again = driver.last_transaction(payments[0].txn_id)
    service.apply_result(db, payments[0], again)
    driver.close()
    assert [(p.state, p.amount) for p in payments] == [("approved", Decimal("100.00")), ("approved", Decimal("200.00"))]
    assert sorted(e.amount for e in _ledger_payments(db, customer.id)) == [Decimal("100.00"), Decimal("200.00")]
    assert _terminal_charges(sim.port) == 2


def test_a_retried_sale_with_the_same_id_is_not_charged_twice(simulator):
    sim = simulator()
    driver = TcpTerminal("127.0.0.1", sim.port)
    first = driver.sale("retry-1", Decimal("10.00"), "CZK")
    driver.close()
    second = driver.sale("retry-1", Decimal("10.00"), "CZK")
    assert first == second and driver.status().approved_count == 1
    refund = driver.refund("retry-2", Decimal("10.00"), "CZK", "retry-1")
    void = driver.void("retry-3", "retry-1")
    assert refund.approved and refund.operation == "REFUND" and void.approved and void.operation == "VOID"
    assert driver.last_transaction().txn_id == "retry-3"
    assert driver.last_transaction("never-sent") is None
    driver.close()


def test_unreachable_terminal_charges_nothing(db, in_a, make_customer):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reg = service.create_register(db, name="Mrtvý terminál", terminal_host="127.0.0.1", terminal_port=str(port))
    cash_session = service.open_session(db, register_id=reg.id, opening_float="0")
    customer, _ = make_customer()
    payment = _pay_by_card(db, cash_session, customer)
    assert payment.state == "declined" and "unreachable" in payment.error
    with pytest.raises(TerminalUnavailable):
        driver_for(service.create_register(db, name="Bez terminálu"), FAST)


def test_stale_pending_payment_is_reconciled(db, card_desk, make_customer):
    """A crash between storing the payment and asking the terminal leaves it pending; the job settles it."""
    _sim, _reg, cash_session = card_desk()
    customer, _ = make_customer()
    payment = service.start_card(db, cash_session, PaymentRequest(customer.id, "80", txn_id=service.new_txn_id()))
    db.commit()
    assert service.waiting_payments(db) == []  # fresh: maybe still in flight
    assert service.waiting_payments(db, payment.created_at + timedelta(minutes=11)) == [payment]
    payment.state = "unknown"
    service.reconcile_all(db, lambda register: driver_for(register, FAST))
    assert payment.state == "declined"  # the terminal never heard of it
    assert db.scalar(select(func.count()).select_from(CashPayment).where(CashPayment.state == "approved")) == 0


def test_close_waits_for_unknown_card_payments(db, card_desk, make_customer):
    _sim, _reg, cash_session = card_desk("--fault", "timeout-after-approval")
    customer, _ = make_customer()
    _pay_by_card(db, cash_session, customer)
    with pytest.raises(service.CashDeskError, match="reconciled"):
        service.close_session(db, cash_session_id=cash_session.id, counted="0")


def test_protocol_frames_and_garbage():
    frame = encode(Message("SALE", {"TXN": "abc", "AMT": "1250", "CUR": "CZK"}))
    reader = FrameReader()
    reader.feed(b"noise\x06" + frame[:5])
    assert reader.next() == b"\x06" and reader.next() is None
    reader.feed(frame[5:])
    assert reader.next() == Message("SALE", {"TXN": "abc", "AMT": "1250", "CUR": "CZK"})
    damaged = frame[:-1] + bytes([frame[-1] ^ 1])
    reader.feed(damaged)
    with pytest.raises(ProtocolError, match="LRC"):
        reader.next()
    with pytest.raises(ProtocolError):
        encode(Message("SALE", {"TXN": "a\x03b"}))


def test_card_refund_through_the_terminal_after_a_lost_answer(db, card_desk, make_customer):
    sim, _reg, cash_session = card_desk()
    customer, _ = make_customer()
    paid = _pay_by_card(db, cash_session, customer, "300.00")
    refund = service.start_refund(db, paid, cash_session, service.new_txn_id())
    db.commit()
    assert refund.state == "pending" and refund.method == "card"
    # the answer to the REFUND is lost: the terminal's record settles it, once
    lost = TcpTerminal("127.0.0.1", sim.port, result_timeout=0.0001)
    service.charge_card(db, refund, lost)
    lost.close()
    if refund.state == "unknown":
        driver = driver_for(cash_session.register, FAST)
        service.reconcile(db, refund, driver)
        driver.close()
    assert refund.state == "approved"
    record = TcpTerminal("127.0.0.1", sim.port).last_transaction(refund.txn_id)
    assert record.operation == "REFUND" and record.amount == Decimal("300.00")
    assert sorted(e.amount for e in _ledger_payments(db, customer.id)) == [Decimal("-300.00"), Decimal("300.00")]
