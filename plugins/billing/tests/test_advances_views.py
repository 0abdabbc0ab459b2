"""Advance invoices on the screens: the Opcare list and detail (final invoice, cancel), the customer card,
the portal's invoice list and page with QR Platba; permissions, CSRF, another location."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import select

from mango_billing import advances
from mango_billing.models import Advance, Invoice
from mango_billing.periods import RatedLine
from mango_core.auth.models import RolePermission
from mango_core.customers import service as customers
from mango_core.selfcare.testing import build_portal, portal_login
from mango_core.tenancy.context import location_scope, operator_scope
from mango_core.tenancy.models import BankAccount, Location
from mango_core.testing.fixtures import login, post

IBAN = "CZ6508000000192000145399"


def text(resp) -> str:  # noqa: ANN001
    """The page with the locale's no-break spaces as plain ones (1 210,00)."""
    return resp.get_data(as_text=True).replace("\xa0", " ").replace("\u202f", " ")


def line(amount: str) -> RatedLine:
    return RatedLine(kind="one_off", description="Tisk plakátů", amount=D(amount), vat_rate=D("21"), customer_id=0,
                     quantity=D("1"), unit="ks")


def _advance(app, db, location_id: int, customer_id: int | None = None, amount: str = "1000.00") -> tuple[int, int]:  # noqa: ANN001
    """An advance (id, invoice id) of a customer in the location, committed."""
    with app.test_request_context(), location_scope(location_id):
        location = db.get(Location, location_id)
        location.dic = location.dic or "CZ27082440"
        if not db.scalar(select(BankAccount.id).limit(1)):
            db.add(BankAccount(label="Main", account_number="19-2000145399/0800", iban=IBAN, is_default=True))
            db.flush()
        if customer_id is None:
            customer_id = customers.create_customer(db, kind="person", first_name="Eva", last_name="Zálohová").id
        adv = advances.issue_advance(db, location, customer_id, [line(amount)])
        db.commit()
        return adv.id, adv.invoice_id


def test_list_filter_detail_final_invoice_and_cancel(app, client, db, world):  # noqa: ANN001
    adv_id, doc_id = _advance(app, db, world.loc_a.id)
    other_id, other_doc = _advance(app, db, world.loc_a.id)
    login(client, world.admin_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})
    with location_scope(world.loc_a.id):
        number = db.get(Invoice, doc_id).number
    listing = text(client.get("/billing/invoices/?kind=advance"))
    assert number in listing and 'data-advance-state="open"' in listing
    assert number not in text(client.get("/billing/invoices/?kind=credit_note"))
    assert number in text(client.get("/billing/invoices/?kind=advance&state=unpaid"))
    assert number not in text(client.get("/billing/invoices/?kind=advance&state=paid"))
    detail = text(client.get(f"/billing/invoices/{doc_id}"))
    assert 'id="advance-panel" data-advance-state="open"' in detail and "Zálohová faktura" in detail
    assert 'id="advance-settle-form"' in detail and 'id="advance-cancel-form"' in detail
    assert "1 210,00" in detail  # unpaid
    # no CSRF: refused, nothing issued
    assert client.post(f"/billing/invoices/{doc_id}/final-invoice").status_code == 400
    resp = post(client, f"/billing/invoices/{doc_id}/final-invoice", {}, token_from=f"/billing/invoices/{doc_id}")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        adv = db.get(Advance, adv_id)
        db.refresh(adv)
        assert adv.state == "settled"
        final = db.get(Invoice, adv.final_invoice_id)
        assert resp.headers["Location"].endswith(f"/billing/invoices/{final.id}")
        assert final.total == D("1210.00")  # nothing was paid: nothing deducted
    final_page = text(client.get(f"/billing/invoices/{final.id}"))
    assert 'id="advance-link"' in final_page and number in final_page
    assert "vyúčtováno" in text(client.get(f"/billing/invoices/{doc_id}"))
    # cancelling the other one
    resp = post(client, f"/billing/invoices/{other_doc}/cancel", {"reason": "storno objednávky"},
                token_from=f"/billing/invoices/{other_doc}")
    assert resp.status_code == 302
    page = text(client.get(f"/billing/invoices/{other_doc}"))
    assert 'data-advance-state="cancelled"' in page and "storno objednávky" in page
    assert 'id="advance-settle-form"' not in page
    # an ordinary invoice has no advance actions
    assert client.post(f"/billing/invoices/{final.id}/cancel").status_code in (400, 404)


def test_permissions_and_other_location(app, client, db, world):  # noqa: ANN001
    _adv_id, doc_id = _advance(app, db, world.loc_a.id)
    _b_id, b_doc = _advance(app, db, world.loc_b.id)
    with operator_scope():
        world.clerk_role_a.permissions.append(RolePermission(permission="billing.invoices.view"))
        db.commit()
    login(client, world.clerk_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})
    page = client.get(f"/billing/invoices/{doc_id}")
    assert page.status_code == 200 and 'id="advance-settle-form"' not in text(page)
    resp = post(client, f"/billing/invoices/{doc_id}/final-invoice", {}, token_from=f"/billing/invoices/{doc_id}")
    assert resp.status_code == 403
    assert client.get(f"/billing/invoices/{b_doc}").status_code == 404
    admin = app.test_client()
    login(admin, world.admin_a.email)
    post(admin, "/location", {"location_id": world.loc_a.id})
    resp = post(admin, f"/billing/invoices/{b_doc}/cancel", {}, token_from=f"/billing/invoices/{doc_id}")
    assert resp.status_code == 404
    with location_scope(world.loc_b.id):
        assert db.scalar(select(Advance.state).where(Advance.invoice_id == b_doc)) == "open"


def test_customer_card_and_portal(app, client, db, world):  # noqa: ANN001
    with app.test_request_context():
        portal = build_portal(db, world.loc_a, tag="adv")
    _adv_id, doc_id = _advance(app, db, world.loc_a.id, portal.customer_id, amount="500.00")
    login(client, world.admin_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})
    card = text(client.get(f"/customers/{portal.customer_id}?tab=billing_invoices"))
    assert f'data-invoice="{doc_id}" data-state="unpaid"' in card and "zálohová faktura" in card
    staff, client = client, app.test_client()
    portal_login(client, "PRG", portal.email)
    listing = text(client.get("/selfcare/billing/invoices/"))
    assert f'data-invoice="{doc_id}" data-state="unpaid"' in listing
    page = text(client.get(f"/selfcare/billing/invoices/{doc_id}"))
    assert "Zálohová faktura" in page and 'id="invoice-qr"' in page and "605,00" in page
    with app.test_request_context(), location_scope(world.loc_a.id):
        document = db.get(Invoice, doc_id)
        from mango_billing.payments.service import record_payment

        record_payment(db, location_id=world.loc_a.id, customer_id=portal.customer_id, amount="605.00",
                       method="bank", received_on=document.issued_on, idempotency_key=f"v{doc_id}", actor_id=None,
                       variable_symbol=document.variable_symbol)
        db.commit()
        (tax,) = advances.tax_documents(db, advances.of_invoice(db, document))
        tax_id, tax_number = tax.id, tax.number
    page = text(client.get(f"/selfcare/billing/invoices/{doc_id}"))
    assert 'id="invoice-qr"' not in page and tax_number in page
    tax_page = text(client.get(f"/selfcare/billing/invoices/{tax_id}"))
    assert "Daňový doklad k přijaté platbě" in tax_page and 'id="advance-link"' in tax_page
    assert client.get(f"/selfcare/billing/invoices/{tax_id}/pdf").status_code == 200
    listing = text(client.get("/selfcare/billing/invoices/"))
    assert f'data-invoice="{doc_id}" data-state="paid"' in listing
    entries = text(staff.get(f"/customers/{portal.customer_id}?tab=billing_payments&account=advance"))
    assert 'data-account="advance"' in entries and "605,00" in entries
    panel = text(staff.get(f"/customers/{portal.customer_id}"))
    assert 'id="balance-advance" data-amount="605.00"' in panel
