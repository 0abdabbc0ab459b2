"""Fixtures of the REST API tests: tokens, a JSON client, and the same objects in two locations.

``seeded`` makes, through the domain's service functions, one object of every resource in
location A (PRG, partner ALFA) and in location B (BRN, partner BETA), with every module enabled
in both, so that each location's own token can see its objects (the positive control of the
IDOR tests) and the other's cannot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from mango_core.api import tokens
from mango_core.catalog import service as catalog
from mango_core.customers import service as customers
from mango_core.devices import service as devices
from mango_core.params import ParamDef
from mango_core.services import service as services
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import BankAccount, Location, LocationModule


def make_token(db, user, *, location: Location | None = None, name: str = "test", days: int | None = None) -> str:  # noqa: ANN001
    with operator_scope():
        created = tokens.create_token(db, user, name=name, location_id=location.id if location else None,
                                      expires_in_days=days)
    db.commit()
    return created.secret


class ApiClient:
    """A test client that sends a bearer token and JSON bodies."""

    def __init__(self, client, secret: str | None = None, language: str | None = None):  # noqa: ANN001
        self.client = client
        self.secret = secret
        self.language = language

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        if self.language:
            headers["Accept-Language"] = self.language
        return {**headers, **(extra or {})}

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **kw):  # noqa: ANN201
        if body is not None:
            kw["data"] = json.dumps(body)
            kw["content_type"] = "application/json"
        return self.client.open(path, method=method, headers=self.headers(headers), **kw)

    def get(self, path: str, **kw):  # noqa: ANN201
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw):  # noqa: ANN201
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw):  # noqa: ANN201
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw):  # noqa: ANN201
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api_client(app, db):  # noqa: ANN001, ANN201
    """``api_client(secret)`` -> an :class:`ApiClient` of the app."""

    def make(secret: str | None = None, language: str | None = None) -> ApiClient:
        return ApiClient(app.test_client(), secret, language)

    return make


@dataclass
class Seed:
    """One object of every resource in one location."""

    location: Location
    customer: Any
    other_customer: Any
    contact: Any
    service_class: Any
    product: Any
    service: Any
    device: Any
    invoice: Any
    payment: Any
    note: Any

    def ids(self) -> dict[str, int]:
        """The object of each resource, by resource name."""
        return {"customers": self.customer.id, "contacts": self.contact.id, "services": self.service.id,
                "classes": self.service_class.id, "products": self.product.id, "devices": self.device.id,
                "invoices": self.invoice.id, "payments": self.payment.id, "example-notes": self.note.id}


def enable_everything(db, mango, location: Location) -> None:  # noqa: ANN001
    with operator_scope():
        have = {m.module for m in db.scalars(select(LocationModule).where(LocationModule.location_id == location.id))}
        for module in mango.licensed_plugins():
            if module not in have:
                db.add(LocationModule(location_id=location.id, module=module))
        db.flush()


def seed_location(db, app, mango, location: Location, code: str) -> Seed:  # noqa: ANN001
    """Objects of every resource in ``location``, made by the domain's own functions."""
    from mango_billing.payments import service as payments
    from mango_billing.run import run_billing
    from mango_example import service as notes

    enable_everything(db, mango, location)
    with app.test_request_context(), location_scope(location.id):
        location.dic = f"CZ{location.ico}"
        db.add(BankAccount(label="Main", account_number="19-2000145399/0800", iban="CZ6508000000192000145399",
                           is_default=True))
        cls = catalog.create_class(db, name=f"Internet {code}", kind="other", params=[
            ParamDef("download", "Download", "integer", required=True, min=1, unit="Mbit/s")])
        product = catalog.create_product(db, class_id=cls.id, name=f"Net {code}", code=f"NET-{code}",
                                         price="499.00", vat_rate="21", defaults={"download": "100"},
                                         valid_from=date(2020, 1, 1), location_ids=[location.id])
        customer = customers.create_customer(db, kind="person", first_name="Jan", last_name=f"Novák {code}")
        other = customers.create_customer(db, kind="company", company_name=f"Firma {code}")
        contact = customers.add_contact(db, customer, name="Jan", roles=["billing"], emails=["jan@example.test"])
        service = services.create_service(db, customer_id=customer.id, product_id=product.id,
                                          start_date=date(2024, 1, 1), activate=True)
        device = devices.create_device(db, type_key="code:example.switch", params={"ports": 24}, name=f"sw-{code}")
        db.flush()
        run_billing(db, location, "2025-03", issued_on=date(2025, 3, 1))
        from mango_billing.models import Invoice

        invoice = db.scalar(select(Invoice).where(Invoice.customer_id == customer.id))
        payment = payments.record_payment(db, location_id=location.id, customer_id=customer.id,
                                          amount=Decimal("100.00"), method="cash", received_on=date(2025, 3, 5),
                                          idempotency_key=f"seed-{code}", actor_id=None).payment
        note = notes.add_note(db, f"Note {code}", None)
        db.flush()
    db.commit()
    return Seed(location, customer, other, contact, cls, product, service, device, invoice, payment, note)


@pytest.fixture
def seeded(db, app, mango, world):  # noqa: ANN001, ANN201
    """(seed of location A, seed of location B)."""
    return seed_location(db, app, mango, world.loc_a, "A"), seed_location(db, app, mango, world.loc_b, "B")
