"""Test data and helpers for the customer portal (core and plugin tests; import from tests only).

:func:`build_portal` makes, in one location, a small catalogue (class "Portal internet" with a
customer-editable Wi-Fi name and a staff-only speed), a customer with a contact e-mail, a child
customer of it, an unrelated customer of the same location, an active service for each, and a
portal account of the first customer with the known password :data:`PASSWORD`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from mango_core.auth.passwords import hash_password
from mango_core.catalog import service as catalog
from mango_core.customers import service as customers
from mango_core.customers.models import Customer
from mango_core.params import ParamDef
from mango_core.selfcare.models import SelfcareAccount
from mango_core.services import service as services
from mango_core.services.models import Service
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import Location
from mango_core.testing.fixtures import csrf_token

PASSWORD = "customer-horse-battery"


@functools.cache
def password_hash() -> str:
    """Argon2 is slow on purpose: hash the test password once per run."""
    return hash_password(PASSWORD)


@dataclass(frozen=True)
class Portal:
    """Ids and values (not ORM objects: a test may expire its session and read them outside a scope)."""

    location_id: int
    code: str
    class_id: int
    product_id: int  # the services' product
    other_product_id: int  # the same class: a tariff the customer may ask for
    customer_id: int  # has a portal account
    customer_number: int
    child_id: int  # a child of the customer
    other_id: int  # an unrelated customer of the same location
    other_number: int
    service_id: int
    child_service_id: int
    other_service_id: int
    account_id: int
    email: str


def build_portal(session: Session, location: Location, *, tag: str = "a") -> Portal:
    """The data described in the module's note, committed (``tag`` keeps e-mails apart per location)."""
    with location_scope(location.id):
        cls = catalog.create_class(session, name="Portal internet", kind="other", params=[
            ParamDef("download", "Download", "integer", required=True, min=1, unit="Mbit/s"),
            ParamDef("wifi_name", "Wi-Fi name", "text", max=32, customer_editable=True),
            ParamDef("public_ip", "Public IP", "boolean", customer_editable=True),
        ])
        product = catalog.create_product(session, class_id=cls.id, name="Portal 100", code="PORTAL100", price="400.00",
                                         vat_rate="21", defaults={"download": "100"}, valid_from=date(2020, 1, 1),
                                         location_ids=[location.id])
        other_product = catalog.create_product(session, class_id=cls.id, name="Portal 500", code="PORTAL500",
                                               price="600.00", vat_rate="21", defaults={"download": "500"},
                                               valid_from=date(2020, 1, 1), location_ids=[location.id])
        customer = customers.create_customer(session, kind="person", first_name="Jana", last_name="Portálová",
                                             state="active")
        customers.add_contact(session, customer, name="Jana Portálová", roles=["owner"],
                              emails=[f"jana.{tag}@example.test"], phones=["+420777000111"])
        child = customers.create_customer(session, kind="company", company_name=f"Pobočka {tag.upper()} s.r.o.",
                                          state="active")
        customers.set_parent(session, child, customer.id)
        other = customers.create_customer(session, kind="person", first_name="Otto", last_name="Cizí", state="active")
        customers.add_contact(session, other, name="Otto Cizí", emails=[f"otto.{tag}@example.test"])
        start = date(2024, 1, 1)

        def active(owner: Customer) -> Service:
            return services.create_service(session, customer_id=owner.id, product_id=product.id,
                                           params={"wifi_name": f"net-{owner.number}"}, start_date=start,
                                           activate=True)

        service, child_service, other_service = active(customer), active(child), active(other)
        account = SelfcareAccount(customer_id=customer.id, email=f"jana.{tag}@example.test",
                                  password_hash=password_hash(), is_active=True)
        session.add(account)
        session.commit()
        return Portal(location.id, location.code, cls.id, product.id, other_product.id, customer.id, customer.number,
                      child.id, other.id, other.number, service.id, child_service.id, other_service.id, account.id,
                      account.email)


def add_account(session: Session, customer: Customer, email: str) -> SelfcareAccount:
    """A portal account with :data:`PASSWORD` for another customer (committed)."""
    with location_scope(customer.location_id):
        account = SelfcareAccount(customer_id=customer.id, email=email, password_hash=password_hash(), is_active=True)
        session.add(account)
        session.commit()
    return account


def portal_login(client: FlaskClient, code: str, login: str, password: str = PASSWORD):  # noqa: ANN201
    """Log in to the portal of location ``code`` (the response of the POST)."""
    token = csrf_token(client, f"/selfcare/{code}/login")
    return client.post(f"/selfcare/{code}/login", data={"login": login, "password": password, "csrf_token": token})


def portal_post(client: FlaskClient, path: str, data: dict | None = None, *, token_from: str = "/selfcare/", **kw):  # noqa: ANN201
    """POST a portal form with a valid CSRF token taken from a portal page the client can see."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **(data or {})}, **kw)
