"""Billing in the customer portal: balance, unpaid invoices with QR Platba, downloads, payments, uniCredit.

Billing's portal pages use the portal's plugin mechanism (its own blueprint under /selfcare/billing,
customer_required, menu entries and the dashboard slot) — checked here together with what they show.
"""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mango_billing.models import BillingProfile, Invoice
from mango_billing.payments.service import record_payment
from mango_billing.run import run_billing
from mango_core.customers import service as customers
from mango_core.selfcare.menu import all_items
from mango_core.selfcare.testing import build_portal, portal_login, portal_post
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import BankAccount

IBAN = "CZ6508000000192000145399"
SPAYD_RE = re.compile(r'data-spayd="(SPD\*1\.0\*[^"]+)"')


def _bill(app, db, location, period: str = "2025-03") -> None:
    with operator_scope():
        location.dic = location.dic or f"CZ{location.ico}"
        db.commit()
    with app.test_request_context(), location_scope(location.id):
        db.add(BankAccount(label="Main", account_number="19-2000145399/0800", iban=IBAN, is_default=True))
        db.flush()
        run_billing(db, location, period, issued_on=date(2025, 3, 1))
        db.commit()


def _invoice_of(db, location_id: int, customer_id: int) -> Invoice:
    with location_scope(location_id):
        return db.scalar(select(Invoice).where(Invoice.customer_id == customer_id, Invoice.kind == "invoice"))


@pytest.fixture
def billed(app, db, world):
    """The portal of mango_core.selfcare.testing in PRG and BRN, billed for March 2025 (due long ago)."""
    with app.test_request_context():
        here = build_portal(db, world.loc_a, tag="a")
        there = build_portal(db, world.loc_b, tag="b")
    with operator_scope():
        from mango_core.tenancy.models import Licence, LocationModule

        if not db.scalar(select(LocationModule.id).where(LocationModule.location_id == world.loc_b.id,
                                                         LocationModule.module == "billing")):
            assert db.scalar(select(Licence.id).where(Licence.partner_id == world.partner_b.id,
                                                      Licence.module == "billing"))
            db.add(LocationModule(location_id=world.loc_b.id, module="billing"))
            db.commit()
    _bill(app, db, world.loc_a)
    _bill(app, db, world.loc_b)
    return here, there


def _spayds(html: str) -> list[dict[str, str]]:
    out = []
    for raw in SPAYD_RE.findall(html):
        parts = raw.replace("&#42;", "*").split("*")
        out.append({p.split(":", 1)[0]: p.split(":", 1)[1] for p in parts[2:]})
    return out


def test_the_dashboard_shows_balance_and_each_unpaid_invoice_with_its_qr_platba(client, db, world, billed):
    portal, _ = billed
    invoice = _invoice_of(db, world.loc_a.id, portal.customer_id)
    assert invoice.total == Decimal("484.00")
    portal_login(client, "PRG", portal.email)
    html = client.get("/selfcare/").get_data(as_text=True)
    assert 'id="selfcare-balance-amount" data-amount="-484.00"' in html
    assert "Dlužíte 484,00" in html and 'id="selfcare-overdue"' in html
    assert f'data-unpaid-invoice="{invoice.id}"' in html and '<svg' in html and 'class="qr-platba"' in html
    (qr,) = _spayds(html)
    assert qr["ACC"].startswith(IBAN) and qr["AM"] == "484.00" and qr["CC"] == "CZK"
    assert qr["X-VS"] == invoice.variable_symbol and re.fullmatch(r"[0-9A-F]{8}", qr["CRC32"])
    # only this customer's invoice, not the child's or the other customer's
    for customer_id in (portal.child_id, portal.other_id):
        assert f'data-unpaid-invoice="{_invoice_of(db, world.loc_a.id, customer_id).id}"' not in html
    assert 'id="selfcare-next-charge"' in html and "data-amount=" in html.split('id="selfcare-next-charge"')[1][:40]


def test_a_partly_paid_invoice_asks_for_the_rest(app, client, db, world, billed):
    portal, _ = billed
    with app.test_request_context(), location_scope(world.loc_a.id):
        record_payment(db, location_id=world.loc_a.id, customer_id=portal.customer_id, amount="100.00", method="cash",
                       received_on=date(2025, 3, 5), idempotency_key="portal-1", actor_id=None)
        db.commit()
    portal_login(client, "PRG", portal.email)
    (qr,) = _spayds(client.get("/selfcare/").get_data(as_text=True))
    assert qr["AM"] == "384.00"
    listing = client.get("/selfcare/billing/invoices/").get_data(as_text=True)
    assert 'data-state="partial"' in listing and "384,00" in listing
    payments = client.get("/selfcare/billing/payments/").get_data(as_text=True)
    assert "100,00" in payments and 'id="selfcare-statement"' in payments


def test_invoice_detail_pdf_and_isdoc_of_ones_own_invoice_only(client, db, world, billed):
    from pypdf import PdfReader

    portal, portal_b = billed
    own = _invoice_of(db, world.loc_a.id, portal.customer_id)
    portal_login(client, "PRG", portal.email)
    detail = client.get(f"/selfcare/billing/invoices/{own.id}")
    assert detail.status_code == 200 and 'id="invoice-qr"' in detail.get_data(as_text=True)
    pdf = client.get(f"/selfcare/billing/invoices/{own.id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="{own.number}.pdf"'
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert own.number in text and "Jana" in text
    isdoc = client.get(f"/selfcare/billing/invoices/{own.id}/isdoc")
    assert isdoc.status_code == 200 and isdoc.mimetype == "application/xml" and own.number.encode() in isdoc.data
    foreign = [_invoice_of(db, world.loc_a.id, portal.other_id).id, _invoice_of(db, world.loc_a.id, portal.child_id).id,
               _invoice_of(db, world.loc_b.id, portal_b.customer_id).id, 999999]
    for invoice_id in foreign:
        for suffix in ("", "/pdf", "/isdoc"):
            resp = client.get(f"/selfcare/billing/invoices/{invoice_id}{suffix}")
            assert resp.status_code == 404 and 'id="selfcare-error"' in resp.get_data(as_text=True), (invoice_id, suffix)
    # the parent may look at its child's invoices after switching to the child
    portal_post(client, "/selfcare/switch", {"customer_id": str(portal.child_id)})
    child_invoice = _invoice_of(db, world.loc_a.id, portal.child_id)
    assert client.get(f"/selfcare/billing/invoices/{child_invoice.id}/pdf").status_code == 200
    assert client.get(f"/selfcare/billing/invoices/{own.id}").status_code == 404


def test_english_pdf_on_request(client, db, world, billed):
    from pypdf import PdfReader

    portal, _ = billed
    own = _invoice_of(db, world.loc_a.id, portal.customer_id)
    portal_login(client, "PRG", portal.email)
    portal_post(client, "/selfcare/language", {"locale": "en"})
    pdf = client.get(f"/selfcare/billing/invoices/{own.id}/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Invoice" in text


def test_unicredit_top_up_details_need_a_post_then_show_a_qr(client, db, world, billed):
    portal, _ = billed
    portal_login(client, "PRG", portal.email)
    page = client.get("/selfcare/billing/credit").get_data(as_text=True)
    assert 'id="credit-symbol-form"' in page and 'id="credit-qr"' not in page
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(BillingProfile)
                         .where(BillingProfile.prepaid_symbol.is_not(None))) == 0  # a GET assigns nothing
    assert client.post("/selfcare/billing/credit/symbol").status_code == 400  # no CSRF
    resp = portal_post(client, "/selfcare/billing/credit/symbol", token_from="/selfcare/billing/credit")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        symbol = db.scalar(select(BillingProfile.prepaid_symbol).where(BillingProfile.customer_id == portal.customer_id))
    assert symbol and symbol.startswith("9")
    page = client.get("/selfcare/billing/credit").get_data(as_text=True)
    assert f'id="credit-symbol">{symbol}<' in page
    (qr,) = _spayds(page)
    assert qr["X-VS"] == symbol and "AM" not in qr and qr["MSG"] == "UNICREDIT"
    (qr,) = _spayds(client.get("/selfcare/billing/credit?amount=500").get_data(as_text=True))
    assert qr["AM"] == "500.00"
    page = client.get("/selfcare/billing/credit?amount=-3").get_data(as_text=True)
    assert "Zadejte částku" in page and "AM" not in _spayds(page)[0]


def test_a_child_billed_to_its_parent_has_no_charge_of_its_own(app, client, db, world, billed):
    portal, _ = billed
    with app.test_request_context(), location_scope(world.loc_a.id):
        child = customers.get_customer(db, portal.child_id)
        customers.set_parent(db, child, portal.customer_id, bill_to_parent=True)
        db.commit()
    portal_login(client, "PRG", portal.email)
    parent_page = client.get("/selfcare/").get_data(as_text=True)
    charge = re.search(r'id="selfcare-next-charge" data-amount="([0-9.]+)"', parent_page)
    assert charge and Decimal(charge.group(1)) >= Decimal("968.00")  # both services on the parent's invoice
    portal_post(client, "/selfcare/switch", {"customer_id": str(portal.child_id)})
    assert "účtuje se nadřazenému účtu" in client.get("/selfcare/").get_data(as_text=True)


def test_billing_uses_the_portal_mechanism_like_any_plugin(app, client, billed):
    portal, _ = billed
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("billing_selfcare.")]
    assert rules and all(r.rule.startswith("/selfcare/billing/") for r in rules)
    assert all(getattr(app.view_functions[r.endpoint], "mango_selfcare", False) for r in rules)
    portal_login(client, "PRG", portal.email)
    client.get("/selfcare/")
    with app.test_request_context():
        items = {item.endpoint: item.plugin for item in all_items()}
    assert {k: v for k, v in items.items() if v == "billing"} == {
        "billing_selfcare.invoices": "billing", "billing_selfcare.payments": "billing",
        "billing_selfcare.credit": "billing"}
    page = client.get("/selfcare/billing/invoices/").get_data(as_text=True)
    assert 'data-menu="billing_selfcare.invoices"' in page and 'id="selfcare-navbar"' in page
    assert 'id="main-menu"' not in page  # the portal's look, not Opcare's
    service_page = client.get(f"/selfcare/services/{portal.service_id}").get_data(as_text=True)
    assert 'id="selfcare-service-price"' in service_page and "484,00" in service_page


def test_a_credit_note_is_listed_and_downloaded_like_an_invoice(app, client, db, world, billed):
    from mango_billing.invoices import credit_note

    portal, _ = billed
    invoice = _invoice_of(db, world.loc_a.id, portal.customer_id)
    with app.test_request_context(), location_scope(world.loc_a.id):
        note = credit_note(db, invoice, [{"vat_rate": "21", "amount": "100.00", "description": "Výpadek"}],
                           "Výpadek služby", actor_id=None)
        db.commit()
        note_id, note_number = note.id, note.number
    portal_login(client, "PRG", portal.email)
    listing = client.get("/selfcare/billing/invoices/").get_data(as_text=True)
    assert f'data-invoice="{note_id}" data-state="credit"' in listing and "dobropis" in listing
    detail = client.get(f"/selfcare/billing/invoices/{note_id}").get_data(as_text=True)
    assert "Opravný doklad" in detail and invoice.number in detail and 'id="invoice-qr"' not in detail
    pdf = client.get(f"/selfcare/billing/invoices/{note_id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Disposition"].endswith(f'"{note_number}.pdf"')
    (qr,) = _spayds(client.get("/selfcare/").get_data(as_text=True))
    assert qr["AM"] == "363.00"  # 484.00 less the credit note's 121.00
