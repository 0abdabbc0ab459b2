"""Opcare screens of invoices and runs: permissions, 404 across locations, CSRF, preview → confirm."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from mango_billing.models import Invoice
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.services.models import Service
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post


def _data(db, world) -> None:
    with location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        db.add(BankAccount(label="Main", account_number="19-2000145399/0800", iban="CZ6508000000192000145399",
                           is_default=True))
        prod = make_row(db, Product, price=Decimal("100.00"), vat_rate=Decimal("21"))
        for _ in range(3):
            customer = make_row(db, Customer)
            make_row(db, Service, customer_id=customer.id, product_id=prod.id, class_id=prod.class_id,
                     state="active", start_date=date(2024, 1, 1), activated_on=date(2024, 1, 1))
    db.commit()


def test_preview_confirm_list_detail_outputs_and_credit_note(client, db, world):
    _data(db, world)
    login(client, world.admin_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})
    page = client.get("/billing/runs/preview?period=2025-03")
    assert page.status_code == 200 and "121,00" in page.get_data(as_text=True)
    assert client.post("/billing/runs/confirm", data={"period": "2025-03"}).status_code == 400  # no CSRF
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Invoice)) == 0
    resp = post(client, "/billing/runs/confirm", {"period": "2025-03"}, token_from="/billing/runs/")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        invoice = db.scalar(select(Invoice).order_by(Invoice.id))
        assert db.scalar(select(func.count()).select_from(Invoice)) == 3
    html = client.get("/billing/invoices/?state=unpaid&period=" + invoice.issued_on.strftime("%Y-%m")).get_data(
        as_text=True)
    assert invoice.number in html
    detail = client.get(f"/billing/invoices/{invoice.id}")
    assert detail.status_code == 200 and "credit-note-form" in detail.get_data(as_text=True)
    pdf = client.get(f"/billing/invoices/{invoice.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    isdoc = client.get(f"/billing/invoices/{invoice.id}/isdoc")
    assert isdoc.status_code == 200 and b"<Invoice" in isdoc.data
    resp = post(client, f"/billing/invoices/{invoice.id}/credit-note",
                {"vat_rate": "21.00", "amount": "50.00", "reason": "Výpadek"}, token_from=f"/billing/invoices/{invoice.id}")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Invoice).where(Invoice.kind == "credit_note")) == 1
    assert client.get("/billing/runs/preview?period=2025-13").status_code == 302
    runs = client.get("/billing/runs/").get_data(as_text=True)
    assert "2025-03" in runs


def test_permissions_and_other_locations(client, db, world, app):
    _data(db, world)
    with app.app_context(), location_scope(world.loc_a.id):
        from mango_billing.run import run_billing

        run_billing(db, world.loc_a, "2025-03", issued_on=date(2025, 3, 1))
        invoice_id = db.scalar(select(Invoice.id))
    login(client, world.clerk_a.email)  # no billing permission
    post(client, "/location", {"location_id": world.loc_a.id})
    for path in ("/billing/invoices/", f"/billing/invoices/{invoice_id}", f"/billing/invoices/{invoice_id}/pdf",
                 "/billing/runs/", "/billing/runs/preview?period=2025-03"):
        assert client.get(path).status_code == 403, path
    client = app.test_client()
    login(client, world.admin_b.email)  # another partner's location
    for path in (f"/billing/invoices/{invoice_id}", f"/billing/invoices/{invoice_id}/pdf",
                 f"/billing/invoices/{invoice_id}/isdoc"):
        assert client.get(path).status_code == 404, path
