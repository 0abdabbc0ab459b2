"""pytest fixtures of the iXpos plugin (a conftest imports them by name): a location scope, customers
with invoices, cash registers, and the terminal simulator as a real subprocess."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from mango_core.tenancy import location_scope
from mango_core.testing.live import ReadyProcess

TODAY = date.today()
_numbers = itertools.count(1)


@pytest.fixture
def in_a(app, world):  # noqa: ANN001, ANN201
    """Service calls in PRG, as a job would make them (an app context, no request)."""
    with app.app_context(), location_scope(world.loc_a.id):
        yield world.loc_a


def create_shop(db, location_id: int) -> SimpleNamespace:  # noqa: ANN001
    """An internet class and product sold in the location (call inside its scope)."""
    from mango_core.catalog import service as catalog

    cls = catalog.create_class(db, name="Internet", kind="other")
    product = catalog.create_product(db, class_id=cls.id, name="Internet 100", code="NET100", price="500.00",
                                     vat_rate="21", valid_from=date(2020, 1, 1), location_ids=[location_id])
    return SimpleNamespace(cls=cls, product=product)


def create_customer(db, shop: SimpleNamespace, name: str = "Novák"):  # noqa: ANN001, ANN201
    """A customer with an active service of the shop's product (call inside the location's scope)."""
    from mango_core.customers import service as customers
    from mango_core.services import service as svc

    customer = customers.create_customer(db, kind="person", first_name="Jan", last_name=name)
    service = svc.create_service(db, customer_id=customer.id, product_id=shop.product.id,
                                 start_date=TODAY - timedelta(days=90), activate=True)
    return customer, service


@pytest.fixture
def shop(db, in_a):  # noqa: ANN001, ANN201
    return create_shop(db, in_a.id)


@pytest.fixture
def make_customer(db, shop):  # noqa: ANN001, ANN201
    """``make_customer(name)``: a customer with an active service."""
    return lambda name="Novák": create_customer(db, shop, name)


def make_invoice(db, customer, total: str, due: date):  # noqa: ANN001, ANN201
    """An issued invoice and its ledger entry, written directly (as the billing engine would)."""
    from mango_billing import ledger
    from mango_billing.models import Invoice, InvoiceSeries

    series = db.scalar(select(InvoiceSeries).where(InvoiceSeries.code == "TST"))
    if series is None:
        series = InvoiceSeries(code="TST", kind="invoice", format="TST{year}{number:06d}")
        db.add(series)
        db.flush()
    n = next(_numbers)
    amount = Decimal(total)
    invoice = Invoice(kind="invoice", series_id=series.id, year=due.year, sequence=n,
                      number=f"TST{n:07d}-{uuid.uuid4().hex[:4]}", customer_id=customer.id,
                      issued_on=due - timedelta(days=14), taxable_supply_date=due - timedelta(days=14), due_date=due,
                      variable_symbol=customer.variable_symbol, total_base=amount, total_vat=Decimal("0"),
                      total=amount, uuid=str(uuid.uuid4()), payment_method="bank_transfer")
    db.add(invoice)
    db.flush()
    ledger.post(db, customer_id=customer.id, kind="invoice", amount=-amount, booked_on=invoice.issued_on,
                invoice_id=invoice.id)
    db.flush()
    return invoice


class Simulator(ReadyProcess):
    def __init__(self, *args: str):
        super().__init__("mango_ixpos.simulator", *args)


@pytest.fixture
def simulator():  # noqa: ANN201
    """``simulator("--fault", "decline")``: a terminal simulator process on a free loopback port."""
    started: list[Simulator] = []

    def start(*args: str) -> Simulator:
        sim = Simulator(*args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def register(db, in_a, world):  # noqa: ANN001, ANN201
    """A cash register without a terminal and its open session (float 1 000 CZK)."""
    from mango_ixpos.cashdesk import service

    reg = service.create_register(db, name="Pokladna 1", actor=world.admin_a.id)
    cash_session = service.open_session(db, register_id=reg.id, opening_float="1000.00", actor=world.admin_a.id)
    db.commit()
    return SimpleNamespace(register=reg, session=cash_session)
