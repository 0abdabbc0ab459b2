"""Orders of products with an advance: the advance invoice on approval, paid from a bank statement,
production, the final invoice on finishing; the billing run leaves them alone; the order pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from mango_billing import advances, ledger
from mango_billing.bank import BankMovement, BankStatement
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.models import Charge, Invoice
from mango_billing.payments.importer import import_statement
from mango_billing.run import run_billing
from mango_core.customers.models import Customer
from mango_core.selfcare.testing import portal_login
from mango_core.tenancy.models import BankAccount, Location
from mango_core.testing.fixtures import login, post
from mango_print.shop import orders as svc
from mango_print.shop.models import APPROVED, FINISHED, IN_PRODUCTION, PICKED_UP, PROOF_SENT
from mango_print.testing import GOOD_PARAMS

OWN = "19-2000145399/0800"
STAFF = svc.Actor(svc.STAFF)


def text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True).replace("\xa0", " ").replace("\u202f", " ")


def approved_order(db, shop, in_loc, good_pdf):  # noqa: ANN001, ANN201
    """An order of the advance product, approved (its advance issued), committed."""
    with in_loc(shop.location_id):
        location = db.get(Location, shop.location_id)
        location.dic = "CZ27082440"
        if not db.scalar(select(BankAccount.id).where(BankAccount.account_number == OWN)):
            db.add(BankAccount(label="Fio", account_number=OWN, iban="CZ6508000000192000145399", is_default=True))
        order = svc.place_order(db, db.get(Customer, shop.customer_id), shop.advance_product_id, GOOD_PARAMS,
                                filename="a.pdf", data=good_pdf)
        svc.change_state(db, order, PROOF_SENT, STAFF)
        svc.change_state(db, order, APPROVED, svc.Actor(svc.CUSTOMER, customer_id=shop.customer_id))
        db.commit()
        return order


def pay_by_bank(db, shop, in_loc, vs: str, amount: str) -> None:  # noqa: ANN001
    movement = BankMovement(bank_id="9" + vs, booked=date.today(), amount=Decimal(amount), currency="CZK",
                            counter_account="2400222222/2010", counter_name="Zákazník", variable_symbol=vs,
                            constant_symbol=None, specific_symbol=None, message=None, reversal=False)
    data = write_gpc(BankStatement("gpc", OWN, "CZK", "1", None, None, Decimal("0"), None, (movement,)))
    with in_loc(shop.location_id):
        assert import_statement(db, shop.location_id, data, "v.gpc").matched == 1
        db.commit()


def test_advance_paid_by_bank_then_production_and_the_final_invoice(db, shop, in_loc, good_pdf):  # noqa: ANN001
    order = approved_order(db, shop, in_loc, good_pdf)
    with in_loc(shop.location_id):
        document = db.get(Invoice, order.advance_invoice_id)
        assert document.kind == "advance" and document.total == Decimal("762.30")
        # the month's billing run does not bill the order: there is no charge yet
        run_billing(db, db.get(Location, shop.location_id), date.today().strftime("%Y-%m"))
        db.commit()
        assert db.scalar(select(func.count()).select_from(Charge).where(
            Charge.customer_id == shop.customer_id)) == 0
        vs = document.variable_symbol
    pay_by_bank(db, shop, in_loc, vs, "762.30")
    with in_loc(shop.location_id):
        assert svc.advance_paid(db, order)
        svc.change_state(db, order, IN_PRODUCTION, STAFF)
        svc.change_state(db, order, FINISHED, STAFF)
        db.commit()
        final = db.get(Invoice, order.invoice_id)
        (tax,) = advances.tax_documents(db, advances.of_invoice(db, document))
        assert [(ln.kind, ln.base, ln.vat) for ln in final.lines] == [
            ("one_off", Decimal("630.00"), Decimal("132.30")), ("deduction", Decimal("-630.00"), Decimal("-132.30"))]
        assert final.total == 0 and tax.total == Decimal("762.30")
        assert ledger.balance(db, shop.customer_id) == 0 and advances.held(db, shop.customer_id) == 0
        svc.change_state(db, order, PICKED_UP, STAFF)
        db.commit()
        assert order.invoice_id == final.id


def test_order_pages_show_the_advance_and_the_final_invoice(app, client, db, world, shop, in_loc, good_pdf):  # noqa: ANN001
    order = approved_order(db, shop, in_loc, good_pdf)
    with in_loc(shop.location_id):
        document = db.get(Invoice, order.advance_invoice_id)
        number, vs, doc_id, order_id = document.number, document.variable_symbol, document.id, order.id
    portal = app.test_client()
    portal_login(portal, shop.code, shop.email)
    page = text(portal.get(f"/selfcare/print/orders/{order_id}"))
    assert number in page and 'id="advance" data-state="open"' in page and "762,30 Kč k úhradě" in page
    assert f'id="advance-pay" href="/selfcare/billing/invoices/{doc_id}"' in page
    login(client, world.admin_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})
    staff_page = text(client.get(f"/print/orders/{order_id}"))
    assert 'id="advance" data-paid="no"' in staff_page and f'href="/billing/invoices/{doc_id}"' in staff_page
    assert "vystaví se po dokončení" in staff_page
    pay_by_bank(db, shop, in_loc, vs, "762.30")
    with in_loc(shop.location_id):
        svc.change_state(db, order, IN_PRODUCTION, STAFF)
        svc.change_state(db, order, FINISHED, STAFF)
        db.commit()
        final_number = db.get(Invoice, order.invoice_id).number
    staff_page = text(client.get(f"/print/orders/{order_id}"))
    assert 'id="advance" data-paid="yes"' in staff_page and final_number in staff_page
    page = text(portal.get(f"/selfcare/print/orders/{order_id}"))
    assert 'data-state="settled"' in page and 'id="final-invoice"' in page and final_number in page
    assert 'id="advance-pay"' not in page


def test_final_invoice_issued_in_billing_first_is_the_orders(db, shop, in_loc, good_pdf):  # noqa: ANN001
    order = approved_order(db, shop, in_loc, good_pdf)
    with in_loc(shop.location_id):
        advance = svc.advance_of(db, order)
        final = advances.settle(db, advance)  # Opcare's "issue the final invoice" on the advance
        vs = advance.invoice.variable_symbol
        db.commit()
        assert not svc.advance_paid(db, order)  # its final invoice is not paid either
    pay_by_bank(db, shop, in_loc, vs, "762.30")  # paid late: ordinary credit now, it pays the final invoice
    with in_loc(shop.location_id):
        assert svc.advance_paid(db, order)
        svc.change_state(db, order, IN_PRODUCTION, STAFF)
        svc.change_state(db, order, FINISHED, STAFF)
        db.commit()
        assert order.invoice_id == final.id and order.charge_id is None  # no second bill, no charge for the run
        assert ledger.balance(db, shop.customer_id) == 0 and ledger.open_items(db, shop.customer_id) == []

