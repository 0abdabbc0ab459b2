"""Orders: placing with preflight, the state machine and who may move it, notifications, billing
(one-off charge invoiced by the billing run; an advance invoice before production), the job ticket."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mango_billing.models import Charge, Invoice, InvoiceLine
from mango_core.customers.models import Customer
from mango_core.mail.models import MailMessage
from mango_core.tenancy.models import Location
from mango_print.shop import orders as svc
from mango_print.shop.models import (
    APPROVED,
    CANCELLED,
    FINISHED,
    IN_PRODUCTION,
    PICKED_UP,
    PREFLIGHT_FAILED,
    PROOF_SENT,
    RECEIVED,
    SHIPPED,
    PrintOrder,
)
from mango_print.shop.products import PrintError
from mango_print.testing import GOOD_PARAMS, pypdf_pdf

STAFF = svc.Actor(svc.STAFF, user_id=None)


def customer_actor(shop):  # noqa: ANN001, ANN201
    return svc.Actor(svc.CUSTOMER, customer_id=shop.customer_id)


def place(db, shop, data, *, product_id=None, **params):  # noqa: ANN001, ANN003, ANN201
    customer = db.get(Customer, shop.customer_id)
    return svc.place_order(db, customer, product_id or shop.product_id, {**GOOD_PARAMS, **params},
                           filename="letak.pdf", data=data)


def mails(db, order):  # noqa: ANN001, ANN201
    return list(db.scalars(select(MailMessage).where(MailMessage.entity == "print_order",
                                                     MailMessage.entity_id == order.id).order_by(MailMessage.id)))


def test_a_good_file_makes_a_received_order_with_its_price_and_a_notice(db, shop, in_loc, good_pdf):
    with in_loc(shop.location_id):
        order = place(db, shop, good_pdf)
        db.commit()
        assert order.state == RECEIVED
        assert order.price == Decimal("630.00")  # see test_print_pricing: 150 + 100 x 4.80
        assert order.quote["piece"] == "4.8000"
        assert order.file.verdict == "ok" and order.file.pages == 2
        assert [(e.from_state, e.to_state) for e in order.events] == [(None, RECEIVED)]
        sent = mails(db, order)
        assert len(sent) == 1 and sent[0].recipients == [shop.email]
        assert f"Zakázka {order.id}" in sent[0].subject and "přijata" in sent[0].subject


def test_a_failing_file_waits_for_a_good_one(db, shop, in_loc, good_pdf):
    with in_loc(shop.location_id):
        order = place(db, shop, pypdf_pdf(148, 210, pages=2))  # no bleed
        assert order.state == PREFLIGHT_FAILED
        assert "nahrajte" in mails(db, order)[0].text
        with pytest.raises(PrintError):  # staff cannot send a proof of a failed file
            svc.change_state(db, order, PROOF_SENT, STAFF)
        svc.upload(db, order, filename="oprava.pdf", data=pypdf_pdf(154, 216, pages=2, font="Helvetica"))
        assert order.state == PREFLIGHT_FAILED  # still bad: a font is missing
        svc.upload(db, order, filename="oprava2.pdf", data=good_pdf)
        assert order.state == RECEIVED
        assert len(order.files) == 3 and order.file.filename == "oprava2.pdf"
        assert [e.to_state for e in order.events] == [PREFLIGHT_FAILED, RECEIVED]
        db.commit()


def test_bad_input_changes_nothing(db, shop, in_loc, good_pdf):
    with in_loc(shop.location_id):
        before = db.scalar(select(PrintOrder.id).order_by(PrintOrder.id.desc()).limit(1))
        for params, data in (({"quantity": "0"}, good_pdf), ({"paper": "gold"}, good_pdf), ({}, b"")):
            with pytest.raises(Exception) as caught:
                place(db, shop, data, **params)
            assert caught.type.__name__ in ("ParamValidationError", "PrintError")
            db.rollback()
        assert db.scalar(select(PrintOrder.id).order_by(PrintOrder.id.desc()).limit(1)) == before


def run_to(db, shop, order, *states):  # noqa: ANN001, ANN002, ANN201
    for state in states:
        actor = customer_actor(shop) if state == APPROVED else STAFF
        svc.change_state(db, order, state, actor, note=None)


def test_the_whole_way_with_a_notice_for_each_change(db, shop, in_loc, good_pdf):
    with in_loc(shop.location_id):
        order = place(db, shop, good_pdf)
        run_to(db, shop, order, PROOF_SENT, APPROVED, IN_PRODUCTION, FINISHED, SHIPPED)
        db.commit()
        assert [e.to_state for e in order.events] == [RECEIVED, PROOF_SENT, APPROVED, IN_PRODUCTION, FINISHED,
                                                      SHIPPED]
        assert [e.by_customer for e in order.events] == [True, False, True, False, False, False]
        assert len(mails(db, order)) == 6
        assert "expedována" in mails(db, order)[-1].subject


@pytest.mark.parametrize("path, to, who", [
    ((), APPROVED, svc.STAFF),  # only the customer approves a proof
    ((PROOF_SENT,), APPROVED, svc.STAFF),
    ((), PROOF_SENT, svc.CUSTOMER),
    ((), IN_PRODUCTION, svc.STAFF),  # not approved yet
    ((PROOF_SENT, APPROVED), FINISHED, svc.STAFF),  # skips production
    ((PROOF_SENT, APPROVED, IN_PRODUCTION, FINISHED, PICKED_UP), SHIPPED, svc.STAFF),  # closed
    ((PROOF_SENT, APPROVED), CANCELLED, svc.STAFF),  # approved and charged: no silent cancel
    ((), "nonsense", svc.STAFF),
])
def test_transitions_not_allowed(db, shop, in_loc, good_pdf, path, to, who):
    with in_loc(shop.location_id):
        order = place(db, shop, good_pdf)
        run_to(db, shop, order, *path)
        state = order.state
        actor = customer_actor(shop) if who == svc.CUSTOMER else STAFF
        with pytest.raises(PrintError):
            svc.change_state(db, order, to, actor)
        assert order.state == state
        db.rollback()


def test_the_customer_may_reject_a_proof_and_another_customer_may_do_nothing(db, shop, in_loc, good_pdf):
    with in_loc(shop.location_id):
        order = place(db, shop, good_pdf)
        run_to(db, shop, order, PROOF_SENT)
        stranger = svc.Actor(svc.CUSTOMER, customer_id=shop.customer_id + 1000)
        with pytest.raises(PrintError):
            svc.change_state(db, order, APPROVED, stranger)
        svc.change_state(db, order, RECEIVED, customer_actor(shop), note="Větší logo, prosím.")
        assert order.state == RECEIVED and order.events[-1].note == "Větší logo, prosím."
        assert "Větší logo" in mails(db, order)[-1].text
        assert order.charge_id is None  # nothing billed before approval
        svc.change_state(db, order, CANCELLED, STAFF)
        db.commit()


def test_approval_charges_once_and_the_billing_run_invoices_it(db, shop, in_loc, good_pdf):
    from mango_billing.run import run_billing

    with in_loc(shop.location_id):
        location = db.get(Location, shop.location_id)
        location.dic = "CZ27082440"
        order = place(db, shop, good_pdf)
        run_to(db, shop, order, PROOF_SENT, APPROVED)
        db.commit()
        charge = db.get(Charge, order.charge_id)
        assert charge.customer_id == shop.customer_id
        assert charge.unit_price == Decimal("630.00") and charge.quantity == 1 and charge.vat_rate == Decimal("21")
        assert order.invoice_id is None  # no advance for this product: production may start
        svc.change_state(db, order, IN_PRODUCTION, STAFF)
        db.commit()
        result = run_billing(db, location, date.today().strftime("%Y-%m"))
        assert result.invoices >= 1
        line = db.scalar(select(InvoiceLine).where(InvoiceLine.description.contains(f"zakázka č. {order.id}")))
        assert line is not None and line.base == Decimal("630.00") and line.kind == "one_off"
        db.expire_all()  # billing marks charges with a bulk UPDATE
        assert db.get(Charge, order.charge_id).invoice_id == line.invoice_id


def test_an_advance_product_gets_an_advance_invoice_and_is_produced_only_when_paid(db, shop, in_loc, good_pdf):
    from mango_billing import advances, ledger
    from mango_billing.payments.service import record_payment

    with in_loc(shop.location_id):
        db.get(Location, shop.location_id).dic = "CZ27082440"
        order = place(db, shop, good_pdf, product_id=shop.advance_product_id)
        assert order.advance
        run_to(db, shop, order, PROOF_SENT, APPROVED)
        db.commit()
        document = db.get(Invoice, order.advance_invoice_id)
        assert document.kind == "advance" and document.customer_id == shop.customer_id
        assert document.total_base == Decimal("630.00") and document.total == Decimal("762.30")  # 21 % VAT
        # no charge and no receivable yet: the run cannot bill the order, the balance is untouched
        assert order.charge_id is None and order.invoice_id is None
        assert ledger.balance(db, shop.customer_id) == 0
        with pytest.raises(PrintError, match="advance invoice"):
            svc.change_state(db, order, IN_PRODUCTION, STAFF)
        db.rollback()
        record_payment(db, location_id=shop.location_id, customer_id=shop.customer_id, amount="762.30",
                       method="cash", received_on=date.today(), idempotency_key=f"print-{order.id}", actor_id=None,
                       variable_symbol=document.variable_symbol)
        assert svc.advance_paid(db, order)
        svc.change_state(db, order, IN_PRODUCTION, STAFF)
        svc.change_state(db, order, FINISHED, STAFF)
        db.commit()
        final = db.get(Invoice, order.invoice_id)
        assert final.kind == "invoice" and final.total == Decimal("0.00")  # all paid by the advance
        assert [ln.kind for ln in final.lines] == ["one_off", "deduction"]
        db.expire_all()  # billing marks charges with a bulk UPDATE
        assert db.get(Charge, order.charge_id).invoice_id == final.id  # the run will not bill it again
        assert ledger.balance(db, shop.customer_id) == 0 and advances.held(db, shop.customer_id) == 0
        svc.change_state(db, order, SHIPPED, STAFF)  # nothing issued twice
        db.commit()
        assert order.invoice_id == final.id
        assert db.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.customer_id == shop.customer_id, Invoice.kind == "invoice")) == 1


def test_job_ticket_is_a_pdf_with_the_order(app, db, shop, in_loc, good_pdf):
    import io

    from pypdf import PdfReader

    from mango_print.shop.ticket import ticket_pdf

    with in_loc(shop.location_id):
        order = place(db, shop, good_pdf)
        db.commit()
        with app.test_request_context("/"):
            pdf = ticket_pdf(db, order)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf.startswith(b"%PDF")
    assert f"{order.id}" in text and "Leták A-formáty" in text and "630" in text
    assert "A5" in text and "letak.pdf" in text


def test_orders_of_another_location_are_invisible(db, world, shop, in_loc, good_pdf):
    with in_loc(shop.location_id):
        order = place(db, shop, good_pdf)
        db.commit()
        order_id = order.id
    with in_loc(world.loc_b.id):
        with pytest.raises(PrintError):
            svc.get_order(db, order_id)
        assert svc.orders(db) == []


def test_an_order_keeps_the_parameters_it_was_ordered_with(app, db, shop, in_loc, good_pdf):
    from mango_core.catalog import service as catalog
    from mango_core.catalog.models import ServiceClass
    from mango_core.params import ParamDef
    from mango_print.shop.products import order_rows, product_of

    with in_loc(shop.location_id):
        order = place(db, shop, good_pdf)
        cls = db.get(ServiceClass, shop.class_id)
        catalog.set_param(db, cls, ParamDef("paper", "Druh papíru", "choice", required=True,
                                            choices=(("recycled", "Recyklovaný"),)))
        db.commit()
        with app.test_request_context("/"):
            rows = dict(order_rows(db, product_of(db, order.product_id), order.params, order.class_version))
        assert rows["Papír"] == "Matný" and "Druh papíru" not in rows
        assert order.class_version == 1 and cls.version == 2


def test_demo_products_are_sellable_and_loading_twice_changes_nothing(app, db, world, in_loc, good_pdf):
    from mango_core.customers import service as customers
    from mango_print.shop.demo import load
    from mango_print.shop.products import for_sale

    with app.app_context():
        first = load(db, [world.loc_a, world.loc_a2])
        assert "product TISK-LETAK" in first and "TISK-VIZITKY sold in PRG" in first
        assert load(db, [world.loc_a, world.loc_a2]) == []
    with in_loc(world.loc_a.id):
        sold = {p.code: p for p in for_sale(db, world.loc_a.id)}
        assert set(sold) == {"TISK-LETAK", "TISK-VIZITKY"}
        customer = customers.create_customer(db, kind="person", first_name="Demo", last_name="Zákazník",
                                             state="active")
        order = svc.place_order(db, customer, sold["TISK-VIZITKY"].id, {"paper": "gloss", "colours": "4/4",
                                                                        "finishing": "matt_lam"},
                                filename="vizitky.pdf", data=pypdf_pdf(91, 61, pages=2))
        # 85 x 55 + 3 mm bleed; 500 pcs x (0.5 x (0.95 x 350/170 + 1.6) + 0.5) x 0.8 + 150
        assert order.state == RECEIVED and order.quantity == 500 and order.advance
        assert order.price == Decimal("1061.18")
        db.rollback()
