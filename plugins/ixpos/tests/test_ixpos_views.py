"""Opcare pages of the cash desk: permissions (403), CSRF, another location's objects (404), and the
whole flow through the web: register, session, find a customer, cash and card payments, receipts,
journal, closing report, closing the session."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from mango_billing import ledger
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import LocationModule
from mango_core.testing.fixtures import login, post
from mango_ixpos.cashdesk import service
from mango_ixpos.cashdesk.models import CashPayment, CashRegister, CashSession
from mango_ixpos.testing import TODAY, create_customer, create_shop, make_invoice


def text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def enter(client, location, user) -> None:  # noqa: ANN001
    login(client, user.email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


@pytest.fixture
def debtor(app, db, world):  # noqa: ANN001, ANN201
    """In PRG: a customer with an open invoice of 700 CZK (no app context stays pushed for the requests)."""
    with app.app_context(), location_scope(world.loc_a.id):
        customer, _service = create_customer(db, create_shop(db, world.loc_a.id), "Platič")
        invoice = make_invoice(db, customer, "700.00", TODAY)
        db.commit()
    return customer, invoice


@pytest.mark.parametrize("path", ["/ixpos/", "/ixpos/sessions", "/ixpos/journal", "/ixpos/report",
                                  "/ixpos/report.txt"])
def test_pages_need_a_permission(client, world, path):
    enter(client, world.loc_a, world.clerk_a)
    assert client.get(path).status_code == 403


def test_changes_need_a_permission(client, world):
    enter(client, world.loc_a, world.clerk_a)
    for path in ("/ixpos/registers", "/ixpos/registers/1/open", "/ixpos/registers/1/pay", "/ixpos/sessions/1/close",
                 "/ixpos/payments/1/reconcile", "/ixpos/payments/1/refund"):
        assert post(client, path, {"name": "X"}).status_code == 403


def test_cash_flow_through_the_web(client, db, world, debtor):
    customer, invoice = debtor
    enter(client, world.loc_a, world.admin_a)
    assert "Pokladna" in text(client.get("/ixpos/"))  # the Czech UI
    resp = post(client, "/ixpos/registers", {"name": "Přepážka 1"}, token_from="/ixpos/")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        register = db.scalar(select(CashRegister).where(CashRegister.name == "Přepážka 1"))
    assert client.post(f"/ixpos/registers/{register.id}/open", data={"opening_float": "500"}).status_code == 400
    resp = post(client, f"/ixpos/registers/{register.id}/open", {"opening_float": "500"}, token_from="/ixpos/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/ixpos/registers/{register.id}")
    page = text(client.get(f"/ixpos/registers/{register.id}?q=Platič"))
    assert f"customer={customer.id}" in page
    desk = client.get(f"/ixpos/registers/{register.id}?customer={customer.id}")
    page = text(desk)
    assert invoice.number in page and 'id="ixpos-pay"' in page
    txn = re.search(r'name="txn_id"[^>]*value="([^"]+)"', page).group(1)
    data = {"customer_id": str(customer.id), "method": "cash", "target": "receivable", "invoice_id": str(invoice.id),
            "amount": "700", "tendered": "1000", "txn_id": txn}
    resp = post(client, f"/ixpos/registers/{register.id}/pay", data, token_from=f"/ixpos/registers/{register.id}")
    assert resp.status_code == 302
    again = post(client, f"/ixpos/registers/{register.id}/pay", data, token_from=f"/ixpos/registers/{register.id}")
    assert again.headers["Location"] == resp.headers["Location"]  # a double submit shows the same payment
    with location_scope(world.loc_a.id):
        payment = db.scalar(select(CashPayment).where(CashPayment.txn_id == txn))
        assert ledger.open_items(db, customer.id) == []
        assert db.scalar(select(CashPayment).where(CashPayment.customer_id == customer.id)
                         .order_by(CashPayment.id.desc())).id == payment.id
    page = text(client.get(resp.headers["Location"]))
    assert "Příjmový doklad" in page or "Doklad" in page
    assert "300,00 CZK" in page  # change
    receipt = client.get(f"/ixpos/payments/{payment.id}/receipt.txt?width=48")
    assert receipt.status_code == 200 and max(len(line) for line in text(receipt).splitlines()) <= 48
    assert client.get(f"/ixpos/payments/{payment.id}/receipt.txt?width=50").status_code == 400
    pdf = client.get(f"/ixpos/payments/{payment.id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "700,00" in text(client.get("/ixpos/report"))
    assert "700,00 CZK" in text(client.get("/ixpos/report.txt"))
    assert 'data-event="cash_payment"' in text(client.get("/ixpos/journal"))
    with location_scope(world.loc_a.id):
        cash_session = db.scalar(select(CashSession).where(CashSession.register_id == register.id))
    resp = post(client, f"/ixpos/sessions/{cash_session.id}/close", {"counted": "1190"},
                token_from=f"/ixpos/sessions/{cash_session.id}")
    assert resp.status_code == 302
    page = text(client.get(f"/ixpos/sessions/{cash_session.id}"))
    assert "−10,00" in page or "-10,00" in page
    assert str(cash_session.id) in text(client.get("/ixpos/sessions"))


def test_card_payment_through_the_web(client, db, world, debtor, simulator):
    customer, invoice = debtor
    sim = simulator()
    with location_scope(world.loc_a.id):
        register = service.create_register(db, name="Karta", terminal_host="127.0.0.1", terminal_port=str(sim.port))
        service.open_session(db, register_id=register.id, opening_float="0")
        db.commit()
    enter(client, world.loc_a, world.admin_a)
    data = {"customer_id": str(customer.id), "method": "card", "target": "receivable", "invoice_id": "",
            "amount": "700.00", "txn_id": service.new_txn_id()}
    resp = post(client, f"/ixpos/registers/{register.id}/pay", data, token_from="/ixpos/")
    assert resp.status_code == 302
    page = text(client.get(resp.headers["Location"]))
    assert 'data-state="approved"' in page and "A00001" in page
    with location_scope(world.loc_a.id):
        assert ledger.balance(db, customer.id) == Decimal("0.00")


def test_bad_payment_input_changes_nothing(client, db, world, debtor):
    customer, _invoice = debtor
    with location_scope(world.loc_a.id):
        register = service.create_register(db, name="P")
        service.open_session(db, register_id=register.id, opening_float="0")
        db.commit()
    enter(client, world.loc_a, world.admin_a)
    data = {"customer_id": str(customer.id), "method": "cash", "target": "receivable", "invoice_id": "",
            "amount": "12,345", "txn_id": service.new_txn_id()}
    resp = post(client, f"/ixpos/registers/{register.id}/pay", data, token_from="/ixpos/")
    assert resp.status_code == 400
    with location_scope(world.loc_a.id):
        assert db.scalar(select(CashPayment)) is None


def test_another_locations_objects_answer_404(client, db, world, debtor):
    customer, _invoice = debtor
    with location_scope(world.loc_a.id):
        register = service.create_register(db, name="P")
        cash_session = service.open_session(db, register_id=register.id, opening_float="0")
        payment = service.take_cash(db, cash_session, service.PaymentRequest(customer.id, "10",
                                                                             txn_id=service.new_txn_id()))
        db.commit()
    with operator_scope():
        db.add(LocationModule(location_id=world.loc_b.id, module="billing"))
        db.add(LocationModule(location_id=world.loc_b.id, module="ixpos"))
        db.commit()
    enter(client, world.loc_b, world.admin_b)
    assert client.get("/ixpos/").status_code == 200
    assert "P" not in re.findall(r'data-register="(\d+)"', text(client.get("/ixpos/")))
    for path in (f"/ixpos/registers/{register.id}", f"/ixpos/sessions/{cash_session.id}",
                 f"/ixpos/payments/{payment.id}", f"/ixpos/payments/{payment.id}/receipt.txt"):
        assert client.get(path).status_code == 404, path
    assert post(client, f"/ixpos/sessions/{cash_session.id}/close", {"counted": "0"}).status_code == 404


def test_refund_needs_manage_and_pays_back_once(client, db, world, debtor):
    customer, _invoice = debtor
    with location_scope(world.loc_a.id):
        register = service.create_register(db, name="P")
        cash_session = service.open_session(db, register_id=register.id, opening_float="1000")
        paid = service.take_cash(db, cash_session, service.PaymentRequest(customer.id, "700",
                                                                          txn_id=service.new_txn_id()))
        db.commit()
    enter(client, world.loc_a, world.admin_a)
    page = text(client.get(f"/ixpos/payments/{paid.id}"))
    txn = re.search(r'id="ixpos-refund".*?name="txn_id"[^>]*value="([^"]+)"', page, re.S).group(1)
    data = {"txn_id": txn}
    resp = post(client, f"/ixpos/payments/{paid.id}/refund", data, token_from=f"/ixpos/payments/{paid.id}")
    assert resp.status_code == 302
    page = text(client.get(resp.headers["Location"]))
    assert "VRATKA" in page and "-700,00" in page
    again = post(client, f"/ixpos/payments/{paid.id}/refund", data, token_from=f"/ixpos/payments/{paid.id}")
    assert again.headers["Location"] == resp.headers["Location"]  # the same refund, not a second one
    assert 'id="ixpos-refund"' not in text(client.get(f"/ixpos/payments/{paid.id}"))
    with location_scope(world.loc_a.id):
        assert ledger.balance(db, customer.id) == Decimal("-700.00")
        assert service.cash_taken(db, cash_session.id) == Decimal("0.00")
