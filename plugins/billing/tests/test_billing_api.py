"""Billing's REST API resources: invoices (read, filters, PDF) and payments (recorded by hand, read)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mango_billing import ledger
from mango_billing.models import Invoice, Payment
from mango_core.api import tokens
from mango_core.catalog import service as catalog
from mango_core.customers import service as customers
from mango_core.services import service as services
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import BankAccount
from mango_example import plugin as example_plugin


@pytest.fixture
def billed(app, db, world):  # noqa: ANN001, ANN201
    """Two customers of PRG with a service each, billed for March 2025."""
    from mango_billing.run import run_billing

    with app.test_request_context(), location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        db.add(BankAccount(label="Main", account_number="19-2000145399/0800", iban="CZ6508000000192000145399",
                           is_default=True))
        cls = catalog.create_class(db, name="Internet", kind="other")
        product = catalog.create_product(db, class_id=cls.id, name="Net", code="NET", price="100.00", vat_rate="21",
                                         valid_from=date(2020, 1, 1), location_ids=[world.loc_a.id])
        people = [customers.create_customer(db, last_name=name) for name in ("Novák", "Dvořák")]
        for person in people:
            services.create_service(db, customer_id=person.id, product_id=product.id, start_date=date(2024, 1, 1),
                                    activate=True)
        run_billing(db, world.loc_a, "2025-03", issued_on=date(2025, 3, 1))
    db.commit()
    return people


@pytest.fixture
def api(app, db, world):  # noqa: ANN001, ANN201
    with operator_scope():
        secret = tokens.create_token(db, world.admin_a, name="billing", location_id=world.loc_a.id).secret
    db.commit()
    client = app.test_client()

    def call(method: str, path: str, body=None, headers=None):  # noqa: ANN001, ANN202
        extra = {"Authorization": f"Bearer {secret}", **(headers or {})}
        if body is None:
            return client.open(path, method=method, headers=extra)
        return client.open(path, method=method, headers=extra, data=json.dumps(body), content_type="application/json")

    return call


def test_invoices_list_filter_and_detail(api, billed):
    listing = api("GET", "/api/v1/invoices?sort=number").get_json()
    assert listing["total"] == 2
    invoice = listing["items"][0]
    assert invoice["kind"] == "invoice" and invoice["issued_on"] == "2025-03-01" and invoice["location"] == "PRG"
    assert invoice["total"] == "121.00" and invoice["total_base"] == "100.00" and invoice["total_vat"] == "21.00"
    [line] = invoice["lines"]
    assert line["unit_price"] == "100" and line["total"] == "121.00" and line["vat_rate"] == "21"
    one = api("GET", f"/api/v1/invoices?customer_id={billed[1].id}").get_json()["items"]
    assert [i["customer_id"] for i in one] == [billed[1].id]
    assert api("GET", "/api/v1/invoices?issued_on[gte]=2025-04-01").get_json()["total"] == 0
    assert api("GET", "/api/v1/invoices?kind=credit_note").get_json()["total"] == 0
    assert api("GET", f"/api/v1/invoices/{invoice['id']}").get_json() == invoice
    assert api("PATCH", f"/api/v1/invoices/{invoice['id']}", {}).status_code == 405  # issued documents never change


def test_invoice_pdf(api, billed):
    invoice_id = api("GET", "/api/v1/invoices").get_json()["items"][0]["id"]
    response = api("GET", f"/api/v1/invoices/{invoice_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="FV2025')


def test_a_payment_is_recorded_matched_and_booked(api, billed, db, world):
    example_plugin.MONEY_EVENTS.clear()
    customer = billed[0]
    response = api("POST", "/api/v1/payments", {"customer_id": customer.id, "amount": "121.00", "method": "cash",
                                                "received_on": "2025-03-10", "note": "at the desk"})
    assert response.status_code == 201, response.get_json()
    payment = response.get_json()
    assert payment["amount"] == "121.00" and payment["state"] == "matched" and payment["method"] == "cash"
    assert payment["customer_id"] == customer.id and payment["message"] == "at the desk"
    assert response.headers["Location"] == f"/api/v1/payments/{payment['id']}"
    with location_scope(world.loc_a.id):
        assert ledger.balance(db, customer.id) == Decimal("0.00")
    assert {"event": "payments_matched", "location_id": world.loc_a.id, "ids": [payment["id"]]} in \
        example_plugin.MONEY_EVENTS
    assert api("GET", f"/api/v1/payments?customer_id={customer.id}").get_json()["total"] == 1
    assert api("GET", "/api/v1/payments?received_on[gte]=2025-03-11").get_json()["total"] == 0


def test_a_payment_retried_with_its_key_is_recorded_once(api, billed, db, world):
    body = {"customer_id": billed[0].id, "amount": "50.00", "method": "card"}
    first = api("POST", "/api/v1/payments", body, {"Idempotency-Key": "till-7-0042"})
    again = api("POST", "/api/v1/payments", body, {"Idempotency-Key": "till-7-0042"})
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    refused = api("POST", "/api/v1/payments", {**body, "amount": "60.00"}, {"Idempotency-Key": "till-7-0042"})
    assert refused.status_code == 422
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count(Payment.id))) == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "10.00", "method": "cash"}, "customer_id"),
    ({"customer_id": 0, "amount": "10.00", "method": "sipo"}, "method"),
    ({"customer_id": 1, "amount": 10.5, "method": "cash"}, "amount"),
    ({"customer_id": 1, "amount": "10.001", "method": "cash"}, "amount"),
    ({"customer_id": 999999, "amount": "10.00", "method": "cash"}, "customer_id"),
])
def test_bad_payments_are_refused(api, billed, db, world, body, field):
    response = api("POST", "/api/v1/payments", body)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in {e["field"] for e in response.get_json()["errors"]}
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count(Payment.id))) == 0


def test_a_zero_payment_is_refused_by_billing(api, billed):
    response = api("POST", "/api/v1/payments", {"customer_id": billed[0].id, "amount": "0.00", "method": "cash"})
    assert response.status_code == 422 and "greater than zero" in response.get_json()["detail"]


def test_billing_permissions(app, db, world, billed):
    from mango_core.auth.models import RolePermission

    with operator_scope():
        secret = tokens.create_token(db, world.admin_a, name="x", location_id=world.loc_a.id).secret
        db.execute(RolePermission.__table__.delete().where(
            RolePermission.role_id == world.admin_role_a.id,
            RolePermission.permission.in_(["billing.invoices.view", "billing.payments.manage"])))
    db.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/invoices", headers=headers).status_code == 403
    with location_scope(world.loc_a.id):
        invoice_id = db.scalar(select(Invoice.id))
    assert client.get(f"/api/v1/invoices/{invoice_id}/pdf", headers=headers).status_code == 404
    assert client.get("/api/v1/payments", headers=headers).status_code == 200
    refused = client.post("/api/v1/payments", headers=headers, json={"customer_id": billed[0].id, "amount": "1.00",
                                                                      "method": "cash"})
    assert refused.status_code == 403
